/** Output names of the action (its public contract, see action.yml). */
export const OUTPUTS = {
  digest: 'digest',
  images: 'images',
  results: 'results',
} as const;
