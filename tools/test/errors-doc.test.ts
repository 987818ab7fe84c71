/**
 * Keeps docs/errors.md and the packages' error codes in step, in both directions:
 *
 * - every code defined in a `packages/<name>/src/errors.ts` (its `errors` export, made with
 *   `defineErrors`) has a `### CODE` heading, in the section of its package, showing its message
 *   template and status;
 * - every `### TRIB_…` heading is a defined code, or one of the few codes that only travel on
 *   stream frames and failure values (listed below), each of which must still be produced
 *   somewhere in `packages/<name>/src`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PACKAGES = join(ROOT, 'packages');
const DOC = join(ROOT, 'docs', 'errors.md');

/**
 * Codes that are not thrown and so have no factory: reasons on `reset`/`abort` frames and codes
 * of failure values. Each lists the patterns that prove it is produced; every pattern must match
 * some source file under packages/<name>/src. The route codes are built by the test server from
 * `RouteResolution.reason` (`TRIB_ROUTE_${reason}`), hence the two patterns.
 */
const FRAME_CODES: Readonly<Record<string, readonly RegExp[]>> = {
  TRIB_STREAM_SOURCE_FAILED: [/['"`]TRIB_STREAM_SOURCE_FAILED['"`]/],
  TRIB_ROUTE_NO_MATCH: [/`TRIB_ROUTE_\$\{/, /'no-match'/],
  TRIB_ROUTE_UNAUTHORIZED: [/`TRIB_ROUTE_\$\{/, /'unauthorized'/],
  TRIB_ROUTE_FORBIDDEN: [/`TRIB_ROUTE_\$\{/, /'forbidden'/],
  TRIB_GUARD_INVALID_CREDENTIALS: [/['"`]TRIB_GUARD_INVALID_CREDENTIALS['"`]/],
  TRIB_GUARD_CREDENTIALS_UNAVAILABLE: [/['"`]TRIB_GUARD_CREDENTIALS_UNAVAILABLE['"`]/],
  TRIB_GUARD_UNAVAILABLE: [/['"`]TRIB_GUARD_UNAVAILABLE['"`]/],
  TRIB_CATALOG_NOT_FOUND: [/['"`]TRIB_CATALOG_NOT_FOUND['"`]/],
  TRIB_MODEL_INVALID: [/['"`]TRIB_MODEL_INVALID['"`]/],
};

interface Defined {
  /** The package's name from its package.json, e.g. `@tributary/kernel`. */
  readonly pkg: string;
  readonly file: string;
  readonly code: string;
  readonly message: string;
  readonly status: number | undefined;
}

interface Documented {
  /** The `##` section the heading is in. */
  readonly section: string;
  /** Everything between the heading and the next heading. */
  readonly body: string;
  readonly line: number;
}

function packageDirs(): string[] {
  return readdirSync(PACKAGES, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(PACKAGES, entry.name))
    .sort();
}

async function definedCodes(): Promise<Defined[]> {
  const found: Defined[] = [];
  for (const dir of packageDirs()) {
    const file = join(dir, 'src', 'errors.ts');
    if (!existsSync(file)) continue;
    const pkg = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string }).name;
    const mod = (await import(pathToFileURL(file).href)) as { errors?: unknown };
    if (typeof mod.errors !== 'object' || mod.errors === null) {
      throw new Error(`${file} must export \`errors\` (made with defineErrors)`);
    }
    for (const factory of Object.values(mod.errors as Record<string, unknown>)) {
      const { code, spec } = factory as { code: string; spec: { message: string; status?: number } };
      found.push({ pkg, file, code, message: spec.message, status: spec.status });
    }
  }
  return found;
}

function documentedCodes(text: string): { codes: Map<string, Documented>; duplicates: string[] } {
  const codes = new Map<string, Documented>();
  const duplicates: string[] = [];
  let section = '';
  let current: { code: string; line: number; body: string[] } | undefined;
  const close = () => {
    if (!current) return;
    if (codes.has(current.code)) duplicates.push(current.code);
    else codes.set(current.code, { section, body: current.body.join('\n'), line: current.line });
    current = undefined;
  };
  text.split('\n').forEach((line, index) => {
    const heading = /^(#{1,6})\s+(.*?)\s*$/.exec(line);
    if (heading) {
      close();
      const [, hashes, title] = heading as unknown as [string, string, string];
      if (hashes.length <= 2) section = title;
      const code = /^`?(TRIB_[A-Z0-9_]+)`?$/.exec(title)?.[1];
      if (hashes.length === 3 && code !== undefined) current = { code, line: index + 1, body: [] };
      return;
    }
    current?.body.push(line);
  });
  close();
  return { codes, duplicates };
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('docs/errors.md', () => {
  let defined: Defined[] = [];
  let documented: ReturnType<typeof documentedCodes>;

  beforeAll(async () => {
    defined = await definedCodes();
    documented = documentedCodes(readFileSync(DOC, 'utf8'));
  });

  it('finds the error codes of the packages', () => {
    expect(defined.length).toBeGreaterThan(0);
    expect(defined.every((entry) => /^TRIB_[A-Z0-9]+_[A-Z0-9_]+$/.test(entry.code))).toBe(true);
  });

  it('has a heading for every code a package defines', () => {
    const missing = defined
      .filter((entry) => !documented.codes.has(entry.code))
      .map((e) => `${e.code} (${e.pkg})`);
    expect(missing, 'add a "### CODE" section to docs/errors.md for each').toEqual([]);
  });

  it('documents only codes that exist', () => {
    const known = new Set([...defined.map((entry) => entry.code), ...Object.keys(FRAME_CODES)]);
    const stale = [...documented.codes.keys()].filter((code) => !known.has(code));
    expect(stale, 'remove these sections, or define the codes').toEqual([]);
  });

  it('documents each code once, in the section of the package that defines it', () => {
    expect(documented.duplicates).toEqual([]);
    const misplaced = defined
      .filter((entry) => {
        const doc = documented.codes.get(entry.code);
        return doc !== undefined && !doc.section.includes(entry.pkg);
      })
      .map((entry) => `${entry.code} belongs under the ${entry.pkg} section`);
    expect(misplaced).toEqual([]);
  });

  it('shows the current message template and status of every defined code', () => {
    const stale: string[] = [];
    for (const entry of defined) {
      const doc = documented.codes.get(entry.code);
      if (!doc) continue;
      if (!doc.body.includes(entry.message))
        stale.push(`${entry.code}: message template is now "${entry.message}"`);
      const status = /\*\*Status:\*\*\s*(\d{3}|none)/.exec(doc.body)?.[1];
      const expected = entry.status === undefined ? 'none' : String(entry.status);
      if (status !== expected)
        stale.push(`${entry.code}: status is ${expected}, the doc says ${status ?? 'nothing'}`);
    }
    expect(stale).toEqual([]);
  });

  it('lists frame-only codes that the packages really produce, and that no package defines', () => {
    const sources = packageDirs()
      .flatMap((dir) => sourceFiles(join(dir, 'src')))
      .map((file) => readFileSync(file, 'utf8'));
    const unused = Object.entries(FRAME_CODES)
      .filter(([, patterns]) => !patterns.every((pattern) => sources.some((text) => pattern.test(text))))
      .map(([code]) => code);
    expect(unused, 'no longer produced: drop them here and in docs/errors.md').toEqual([]);
    const definedNow = defined.map((entry) => entry.code).filter((code) => code in FRAME_CODES);
    expect(definedNow, 'now defined with defineErrors: drop them from FRAME_CODES').toEqual([]);
    const undocumented = Object.keys(FRAME_CODES).filter((code) => !documented.codes.has(code));
    expect(undocumented).toEqual([]);
  });
});
