// Tests are compiled by `tsc` into build/ first (npm test does both), so Jest runs plain ESM JavaScript.
/** @type {import('jest').Config} */
const shared = { transform: {}, testEnvironment: 'node' };
export default {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/build/__tests__/unit/**/*.test.js'] },
    { ...shared, displayName: 'adapter', testMatch: ['<rootDir>/build/__tests__/adapter/**/*.test.js'] },
    { ...shared, displayName: 'emulator', testMatch: ['<rootDir>/build/__tests__/emulator/**/*.test.js'] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/build/__tests__/e2e/**/*.test.js'] },
  ],
  testTimeout: 60000,
};
