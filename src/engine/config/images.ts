/**
 * The image list: one image from `source` + `target-tags`, or many from `images` (one per line, `SOURCE -> TARGETS`)
 * or `images-file` (YAML or JSON), each turned into an `ImageSpec` with its defaults applied.
 */
import { InputError } from '../errors.js';
import { maskedExcerpt } from './workspace-files.js';
import { INPUTS, type ImageSpec, type InputName, type Platform } from './model.js';
import type { Problems } from './problems.js';
import { checkPlatform, listItems, unique } from './rules.js';
import {
  checkDigest,
  checkImageReference,
  checkRepository,
  checkTargetTag,
  formatTarget,
  quote,
  registryHostOf,
  type ImageReference,
  type ParseResult,
  type TargetTag,
} from '../reference.js';
import { yamlParser } from './yaml.js';

// ---------------------------------------------------------------------------------------------------------------------
// Images: `source` + `target-tags`, or `images`, or `images-file`

interface ImageInputs {
  source: string | undefined;
  targetTags: string | undefined;
  untagged: string | undefined;
  images: string | undefined;
  imagesFile: string | undefined;
  hostless: boolean;
  platform: Platform | undefined;
  expectedDigest: string | undefined;
  readFile: ((path: string) => string) | undefined;
}

/** One image as written, before its defaults are applied. */
interface ImageDraft {
  origin: string;
  sourceText: string;
  targets: string[];
  untagged: string[];
  platform?: Platform | undefined;
  expectedDigest?: string | undefined;
}

export function collectImages(p: Problems, inputs: ImageInputs): ImageSpec[] {
  const { source, images, imagesFile } = inputs;
  const values: [InputName, string | undefined][] = [
    [INPUTS.source, source],
    [INPUTS.images, images],
    [INPUTS.imagesFile, imagesFile],
  ];
  const given = values.filter((entry): entry is [InputName, string] => entry[1] !== undefined);
  const [first, ...others] = given;
  if (first === undefined) {
    p.add(
      INPUTS.source,
      '',
      "is required: the image to import, e.g. 'docker.io/library/nginx:1.27' (or list several in images or images-file)",
    );
    return [];
  }
  if (others.length > 0) {
    for (const [name, value] of others) {
      p.add(
        name,
        value,
        `conflicts with ${first[0]}: give the images in one of source, images or images-file`,
      );
    }
    return [];
  }

  let drafts: ImageDraft[];
  if (source !== undefined) {
    drafts = [
      {
        origin: INPUTS.source,
        sourceText: source,
        targets: listItems(inputs.targetTags),
        untagged: listItems(inputs.untagged),
      },
    ];
  } else {
    for (const [name, value] of [
      [INPUTS.targetTags, inputs.targetTags],
      [INPUTS.untaggedRepositories, inputs.untagged],
    ] as const) {
      if (value !== undefined) {
        p.add(
          name,
          value,
          `applies to source only; with ${first[0]} write the targets per image (${images !== undefined ? "'SOURCE -> TARGET, ...'" : "the entry's targets / untagged-repositories"})`,
        );
      }
    }
    drafts =
      first[0] === INPUTS.images
        ? parseImagesInput(p, first[1])
        : parseImagesFile(p, first[1], inputs.readFile);
  }

  const specs: ImageSpec[] = [];
  const targetOwner = new Map<string, string>();
  for (const draft of drafts) {
    const spec = buildImage(p, draft, inputs);
    if (spec === undefined) continue;
    for (const target of spec.targets) {
      const key = formatTarget(target);
      const owner = targetOwner.get(key);
      if (owner !== undefined) {
        p.add(
          spec.origin,
          key,
          `target '${key}' is also written by ${owner}; two imports into one tag race, so give each a different target`,
        );
      } else {
        targetOwner.set(key, spec.origin);
      }
    }
    specs.push(spec);
  }
  return specs;
}

/** Applies parsing and defaults to one image; problems are named after where the image was given. */
function buildImage(p: Problems, draft: ImageDraft, inputs: ImageInputs): ImageSpec | undefined {
  const { origin, sourceText } = draft;
  const fromSource = origin === INPUTS.source;
  const targetInput = fromSource ? INPUTS.targetTags : origin;
  const untaggedInput = fromSource ? INPUTS.untaggedRepositories : origin;

  let source: ImageReference | undefined;
  const host = registryHostOf(sourceText);
  if (inputs.hostless && host !== undefined) {
    p.add(
      origin,
      sourceText,
      `names the registry host ${quote(host)}, but source-registry-resource-id already names the source registry; ` +
        `write only ${quote(sourceText.slice(host.length + 1))}, or remove source-registry-resource-id`,
    );
  } else {
    source = p.check(origin, sourceText, checkImageReference(sourceText, { hostless: inputs.hostless }));
  }

  const targets: TargetTag[] = [];
  for (const text of unique(draft.targets)) {
    const parsed = p.check(targetInput, text, checkTargetTag(text));
    if (parsed === undefined || source === undefined) continue;
    const tag = parsed.tag ?? source.tag;
    if (tag === undefined) {
      p.add(
        targetInput,
        text,
        `has no tag and the source is pinned by digest only, so there is no tag to copy; write '${parsed.repository}:<tag>', or list '${parsed.repository}' under untagged-repositories`,
      );
      continue;
    }
    if (!targets.some((t) => t.repository === parsed.repository && t.tag === tag)) {
      targets.push({ repository: parsed.repository, tag });
    }
  }
  const untaggedRepositories: string[] = [];
  for (const text of unique(draft.untagged)) {
    const repository = p.check(untaggedInput, text, checkRepository(text));
    if (repository !== undefined) untaggedRepositories.push(repository);
  }
  if (source === undefined) return undefined;

  // Defaults: the source's repository and tag. A digest-only source has no tag to copy, so it lands untagged in the
  // source's repository rather than moving a tag (e.g. `latest`) the user never named.
  if (draft.targets.length === 0 && untaggedRepositories.length === 0) {
    if (source.tag !== undefined) targets.push({ repository: source.repository, tag: source.tag });
    else untaggedRepositories.push(source.repository);
  }

  const platform = draft.platform ?? inputs.platform;
  const expectedDigest = draft.expectedDigest ?? inputs.expectedDigest;
  return {
    origin,
    source,
    sourceText,
    targets,
    untaggedRepositories,
    ...(platform !== undefined && { platform }),
    ...(expectedDigest !== undefined && { expectedDigest }),
  };
}

/** `images`: one import per line, `SOURCE` or `SOURCE -> TARGET[, TARGET...]`; blank lines and `#` comments allowed. */
function parseImagesInput(p: Problems, text: string): ImageDraft[] {
  const drafts: ImageDraft[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const origin = `${INPUTS.images} line ${index + 1}`;
    const hash = rawLine.indexOf('#');
    const line = (hash === -1 ? rawLine : rawLine.slice(0, hash)).trim();
    if (line === '') return;
    if (p.characters(origin, hash === -1 ? rawLine : rawLine.slice(0, hash))) return;
    const parts = line.split('->');
    if (parts.length > 2) {
      p.add(origin, line, "has more than one '->'; write 'SOURCE -> TARGET[, TARGET...]'");
      return;
    }
    const sourceText = parts[0]!.trim();
    if (sourceText === '') {
      p.add(origin, line, "has no source before '->'; write 'SOURCE -> TARGET[, TARGET...]'");
      return;
    }
    const targets = parts.length === 2 ? listItems(parts[1]) : [];
    if (parts.length === 2 && targets.length === 0) {
      p.add(
        origin,
        line,
        "has no target after '->'; write 'SOURCE -> TARGET[, TARGET...]', or only 'SOURCE'",
      );
      return;
    }
    drafts.push({ origin, sourceText, targets, untagged: [] });
  });
  if (drafts.length === 0 && !p.list.some((x) => x.input.startsWith(`${INPUTS.images} line`))) {
    p.add(
      INPUTS.images,
      text,
      "lists no image; write one 'SOURCE' or 'SOURCE -> TARGET[, TARGET...]' per line",
    );
  }
  return drafts;
}

const ENTRY_KEYS = ['source', 'targets', 'untagged-repositories', 'platform', 'expected-digest'] as const;

/** Alias uses allowed in an images file (yaml's own default): a "billion laughs" file is refused, not expanded. */
const MAX_YAML_ALIASES = 100;

/** `images-file`: YAML or JSON, a list of entries, or `{images: [...]}`. */
function parseImagesFile(
  p: Problems,
  path: string,
  readFile: ((path: string) => string) | undefined,
): ImageDraft[] {
  const input = INPUTS.imagesFile;
  if (readFile === undefined) {
    p.add(input, path, 'cannot be read by this host; list the images in the images input instead');
    return [];
  }
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    // The host's file rules (workspace, type, size) say what is wrong and what to do.
    if (err instanceof InputError) {
      for (const problem of err.problems) p.add(problem.input, problem.value, problem.message);
      return [];
    }
    const reason = err instanceof Error ? err.message : String(err);
    p.add(
      input,
      path,
      `cannot be read (${reason}); give a path relative to the workspace, and check out the repository first`,
    );
    return [];
  }

  const { isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } = yamlParser();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The file may not be an images file at all (a key file, .netrc): show where and what kind of error, and the
    // line's shape with its letters and digits masked, never its text.
    const lines = text.split(/\r?\n|\r/);
    for (const error of doc.errors.slice(0, 5)) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      p.add(
        `${input} line ${line}`,
        path,
        `is not valid YAML or JSON: ${YAML_ERRORS[error.code] ?? 'a syntax error'} at column ${col} (the line's shape: ${JSON.stringify(maskedExcerpt(lines[line - 1] ?? '', col))})`,
      );
    }
    return [];
  }
  const lineOf = (node: unknown): string => {
    const offset = isNode(node) ? node.range?.[0] : undefined;
    return offset === undefined ? '' : ` (line ${lineCounter.linePos(offset).line})`;
  };

  // The list, and its node for line numbers: the document itself, or its `images` key.
  let node: unknown = doc.contents;
  if (isMap(node)) {
    for (const pair of node.items) {
      // String(node) prints YAML (an alias as `*name`) without expanding it.
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (key !== 'images') {
        p.add(
          `${input}${lineOf(pair.key)}`,
          key,
          "has an unknown top-level key; the file holds a list of images, or 'images:' with that list",
        );
      }
    }
    node = node.get('images', true);
  }
  if (!isSeq(node)) {
    p.add(input, path, "must hold a list of images ('- source: ...' entries), or 'images:' with such a list");
    return [];
  }
  if (node.items.length === 0) {
    p.add(input, path, 'lists no image; add at least one entry with a source');
    return [];
  }

  const drafts: ImageDraft[] = [];
  let aliasBomb = false;
  node.items.forEach((item, index) => {
    if (aliasBomb) return;
    const origin = `${input} entry ${index + 1}${lineOf(item)}`;
    let value: unknown;
    try {
      value = isNode(item) ? item.toJS(doc, { maxAliasCount: MAX_YAML_ALIASES }) : item;
    } catch (err) {
      // yaml refuses to expand aliases past maxAliasCount ("billion laughs"); anything else it throws is a bad file too.
      aliasBomb = true;
      p.add(
        origin,
        path,
        // yaml's message names the alias; the file's text is not shown.
        /excessive alias count|resource exhaustion/i.test(String(err))
          ? `expands YAML aliases too often (more than ${MAX_YAML_ALIASES} uses: a "billion laughs" file); write each entry out in full, without anchors (&) and aliases (*)`
          : /unresolved alias/i.test(String(err))
            ? 'cannot be read as YAML: it uses an alias (*name) whose anchor (&name) is not defined before it; write the value out in full'
            : 'cannot be read as YAML; write each entry out in full, without anchors (&), aliases (*) or tags (!)',
      );
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      p.add(
        origin,
        stringify(value),
        "must be a mapping with at least 'source', e.g. '- source: docker.io/library/nginx:1.27'",
      );
      return;
    }
    const entry = value as Record<string, unknown>;
    for (const key of ENTRY_KEYS) {
      const field = entry[key];
      for (const text of typeof field === 'string' ? [field] : Array.isArray(field) ? field : []) {
        if (typeof text === 'string' && p.characters(origin, text, true, `'${key}' `)) return;
      }
    }
    for (const key of Object.keys(entry)) {
      if (!(ENTRY_KEYS as readonly string[]).includes(key)) {
        p.add(origin, key, `has an unknown key '${key}'; the keys are ${ENTRY_KEYS.join(', ')}`);
      }
    }
    const sourceText = entry['source'];
    if (typeof sourceText !== 'string' || sourceText.trim() === '') {
      p.add(origin, stringify(sourceText ?? ''), "needs 'source', the image to import, as a string");
      return;
    }
    const targets = stringList(p, origin, 'targets', entry['targets']);
    const untagged = stringList(p, origin, 'untagged-repositories', entry['untagged-repositories']);
    const platform = entryValue(p, origin, 'platform', entry['platform'], checkPlatform);
    const expectedDigest = entryValue(p, origin, 'expected-digest', entry['expected-digest'], checkDigest);
    // Kept even when a field is bad, so that its source and targets are checked too (any problem fails the run).
    drafts.push({
      origin,
      sourceText: sourceText.trim(),
      targets,
      untagged,
      platform,
      expectedDigest,
    });
  });
  return drafts;
}

/** An optional string value of a file entry: undefined when absent or bad (the problem is recorded). */
function entryValue<T>(
  p: Problems,
  origin: string,
  key: string,
  value: unknown,
  check: (text: string) => ParseResult<T>,
): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    p.add(origin, stringify(value), `'${key}' must be a string`);
    return undefined;
  }
  const result = check(value.trim());
  if (!result.ok) p.add(origin, value, `'${key}' ${result.error}`);
  return result.ok ? result.value : undefined;
}

/** A `targets` / `untagged-repositories` value in a file entry: a list of strings, or one string (comma separated). */
function stringList(p: Problems, origin: string, key: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return listItems(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return unique(value.map((v) => v.trim()).filter((v) => v !== ''));
  }
  p.add(origin, stringify(value), `'${key}' must be a list of strings, e.g. ['apps/web:1.0']`);
  return [];
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/**
 * What each yaml error code means, in fixed words: yaml's own messages quote the text they choked on (a tag, an
 * escape, a token), and the file may not be an images file at all.
 */
const YAML_ERRORS: Readonly<Record<string, string>> = {
  ALIAS_PROPS: 'an alias (*name) with an anchor or tag',
  BAD_ALIAS: 'an alias (*name) whose anchor (&name) is not defined before it',
  BAD_COLLECTION_TYPE: 'a tag that does not fit its value',
  BAD_DIRECTIVE: 'an unknown directive (a line starting with %)',
  BAD_DQ_ESCAPE: 'an invalid escape in a double-quoted string',
  BAD_INDENT: 'bad indentation',
  BAD_PROP_ORDER: 'an anchor or tag in the wrong place',
  BAD_SCALAR_START: 'a plain value that starts with a reserved character (quote it)',
  BLOCK_AS_IMPLICIT_KEY: 'a nested mapping where a key was expected',
  BLOCK_IN_FLOW: 'a block value inside [...] or {...}',
  DUPLICATE_KEY: 'a key given twice in one mapping',
  IMPOSSIBLE: 'a syntax error',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
  MISSING_CHAR: 'a missing character (a closing quote or bracket, a comma, a space after a colon or a dash)',
  MULTILINE_IMPLICIT_KEY: 'a key that spans lines (a missing colon or dash?)',
  MULTIPLE_ANCHORS: 'two anchors on one value',
  MULTIPLE_DOCS: 'more than one document (---); keep one list',
  MULTIPLE_TAGS: 'two tags on one value',
  NON_STRING_KEY: 'a key that is not a string',
  RESOURCE_EXHAUSTION: 'too many aliases (a "billion laughs" file)',
  TAB_AS_INDENT: 'a tab used for indentation (use spaces)',
  TAG_RESOLVE_FAILED: 'an unknown tag (!name)',
  UNEXPECTED_TOKEN: 'unexpected text for this place',
};
