/**
 * Invisible and look-alike characters in input values: a zero-width space pasted from a web page or a Cyrillic 'а'
 * in a registry name makes a value that looks right and fails far away. Found here, they are named with their code
 * point, Unicode name and column, so the user can see what to delete.
 */

/** Characters that show nothing (or look like a plain space) and never belong in a name, reference or ID. */
const INVISIBLE: Readonly<Record<number, string>> = {
  0x00a0: 'NO-BREAK SPACE',
  0x00ad: 'SOFT HYPHEN',
  0x034f: 'COMBINING GRAPHEME JOINER',
  0x061c: 'ARABIC LETTER MARK',
  0x115f: 'HANGUL CHOSEONG FILLER',
  0x1160: 'HANGUL JUNGSEONG FILLER',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR',
  0x2000: 'EN QUAD',
  0x2001: 'EM QUAD',
  0x2002: 'EN SPACE',
  0x2003: 'EM SPACE',
  0x2004: 'THREE-PER-EM SPACE',
  0x2005: 'FOUR-PER-EM SPACE',
  0x2006: 'SIX-PER-EM SPACE',
  0x2007: 'FIGURE SPACE',
  0x2008: 'PUNCTUATION SPACE',
  0x2009: 'THIN SPACE',
  0x200a: 'HAIR SPACE',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x202f: 'NARROW NO-BREAK SPACE',
  0x205f: 'MEDIUM MATHEMATICAL SPACE',
  0x2060: 'WORD JOINER',
  0x2061: 'FUNCTION APPLICATION',
  0x2062: 'INVISIBLE TIMES',
  0x2063: 'INVISIBLE SEPARATOR',
  0x2064: 'INVISIBLE PLUS',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0x3000: 'IDEOGRAPHIC SPACE',
  0x3164: 'HANGUL FILLER',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE (byte order mark)',
  0xffa0: 'HALFWIDTH HANGUL FILLER',
};

/** Characters that look like ASCII ones, with the ASCII character they pass for. */
const LOOK_ALIKES: Readonly<Record<number, readonly [string, string]>> = {
  0x0430: ['CYRILLIC SMALL LETTER A', 'a'],
  0x0435: ['CYRILLIC SMALL LETTER IE', 'e'],
  0x043e: ['CYRILLIC SMALL LETTER O', 'o'],
  0x0440: ['CYRILLIC SMALL LETTER ER', 'p'],
  0x0441: ['CYRILLIC SMALL LETTER ES', 'c'],
  0x0443: ['CYRILLIC SMALL LETTER U', 'y'],
  0x0445: ['CYRILLIC SMALL LETTER HA', 'x'],
  0x0455: ['CYRILLIC SMALL LETTER DZE', 's'],
  0x0456: ['CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I', 'i'],
  0x0458: ['CYRILLIC SMALL LETTER JE', 'j'],
  0x04bb: ['CYRILLIC SMALL LETTER SHHA', 'h'],
  0x0410: ['CYRILLIC CAPITAL LETTER A', 'A'],
  0x0412: ['CYRILLIC CAPITAL LETTER VE', 'B'],
  0x0415: ['CYRILLIC CAPITAL LETTER IE', 'E'],
  0x041a: ['CYRILLIC CAPITAL LETTER KA', 'K'],
  0x041c: ['CYRILLIC CAPITAL LETTER EM', 'M'],
  0x041d: ['CYRILLIC CAPITAL LETTER EN', 'H'],
  0x041e: ['CYRILLIC CAPITAL LETTER O', 'O'],
  0x0420: ['CYRILLIC CAPITAL LETTER ER', 'P'],
  0x0421: ['CYRILLIC CAPITAL LETTER ES', 'C'],
  0x0422: ['CYRILLIC CAPITAL LETTER TE', 'T'],
  0x0425: ['CYRILLIC CAPITAL LETTER HA', 'X'],
  0x03b1: ['GREEK SMALL LETTER ALPHA', 'a'],
  0x03bf: ['GREEK SMALL LETTER OMICRON', 'o'],
  0x03bd: ['GREEK SMALL LETTER NU', 'v'],
  0x03c1: ['GREEK SMALL LETTER RHO', 'p'],
  0x0391: ['GREEK CAPITAL LETTER ALPHA', 'A'],
  0x0392: ['GREEK CAPITAL LETTER BETA', 'B'],
  0x0395: ['GREEK CAPITAL LETTER EPSILON', 'E'],
  0x0397: ['GREEK CAPITAL LETTER ETA', 'H'],
  0x0399: ['GREEK CAPITAL LETTER IOTA', 'I'],
  0x039a: ['GREEK CAPITAL LETTER KAPPA', 'K'],
  0x039c: ['GREEK CAPITAL LETTER MU', 'M'],
  0x039d: ['GREEK CAPITAL LETTER NU', 'N'],
  0x039f: ['GREEK CAPITAL LETTER OMICRON', 'O'],
  0x03a1: ['GREEK CAPITAL LETTER RHO', 'P'],
  0x03a4: ['GREEK CAPITAL LETTER TAU', 'T'],
  0x03a7: ['GREEK CAPITAL LETTER CHI', 'X'],
  0x0131: ['LATIN SMALL LETTER DOTLESS I', 'i'],
  0x2010: ['HYPHEN', '-'],
  0x2011: ['NON-BREAKING HYPHEN', '-'],
  0x2012: ['FIGURE DASH', '-'],
  0x2013: ['EN DASH', '-'],
  0x2014: ['EM DASH', '-'],
  0x2015: ['HORIZONTAL BAR', '-'],
  0x2212: ['MINUS SIGN', '-'],
  0x2018: ['LEFT SINGLE QUOTATION MARK', "'"],
  0x2019: ['RIGHT SINGLE QUOTATION MARK', "'"],
  0x201c: ['LEFT DOUBLE QUOTATION MARK', '"'],
  0x201d: ['RIGHT DOUBLE QUOTATION MARK', '"'],
  0x2024: ['ONE DOT LEADER', '.'],
  0x2044: ['FRACTION SLASH', '/'],
  0x2215: ['DIVISION SLASH', '/'],
  0x2236: ['RATIO', ':'],
  0x02d0: ['MODIFIER LETTER TRIANGULAR COLON', ':'],
  0xa789: ['MODIFIER LETTER COLON', ':'],
  0x0589: ['ARMENIAN FULL STOP', ':'],
};

/** Names a character: `U+200B ZERO WIDTH SPACE`. */
export function describeCharacter(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const invisible = INVISIBLE[cp];
  if (invisible) return `${hex} ${invisible}`;
  const alike = LOOK_ALIKES[cp];
  if (alike) return `${hex} ${alike[0]}`;
  if (cp >= 0xff01 && cp <= 0xff5e) return `${hex} FULLWIDTH '${String.fromCodePoint(cp - 0xfee0)}'`;
  if (cp < 0x20 || cp === 0x7f) return `${hex} control character`;
  return hex;
}

/**
 * The first character of `text` that does not belong in a value whose grammar is ASCII (names, references, IDs,
 * URLs, durations), as a message: `contains U+200B ZERO WIDTH SPACE at column 12 (invisible); delete it`.
 * `asciiOnly: false` (file paths, free text) reports only invisible characters. Undefined when the text is clean.
 */
export function suspiciousCharacter(text: string, opts: { asciiOnly?: boolean } = {}): string | undefined {
  const asciiOnly = opts.asciiOnly ?? true;
  let column = 0;
  for (const ch of text) {
    column++;
    const cp = ch.codePointAt(0) ?? 0;
    if (cp === 0x09) continue;
    const invisible = INVISIBLE[cp] !== undefined || (cp < 0x20 && cp !== 0x0a && cp !== 0x0d) || cp === 0x7f;
    if (invisible) {
      return `contains ${describeCharacter(ch)} at column ${column}, an invisible character (pasted with the value); delete it`;
    }
    if (!asciiOnly || cp < 0x80) continue;
    const alike =
      LOOK_ALIKES[cp]?.[1] ?? (cp >= 0xff01 && cp <= 0xff5e ? String.fromCodePoint(cp - 0xfee0) : undefined);
    return alike !== undefined
      ? `contains ${describeCharacter(ch)} at column ${column}, which looks like '${alike}' but is not; type '${alike}' instead`
      : `contains ${describeCharacter(ch)} at column ${column}, a non-ASCII character; this value takes ASCII only`;
  }
  return undefined;
}
