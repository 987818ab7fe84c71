/**
 * Reading a configuration file: YAML (or JSON) parsed with node ranges, `${{ env.NAME }}`
 * interpolation, and a map from JSON pointers back to lines and columns.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  LineCounter,
  isAlias,
  isCollection,
  isMap,
  isNode,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node,
  type Scalar,
  type YAMLError,
} from 'yaml';
import type { ConfigIssue } from '../spi/config.ts';
import { errors } from '../errors.ts';
import { interpolate } from './interpolate.ts';
import { makeIssue } from './issues.ts';
import { childPointer, parsePointer } from './pointer.ts';

/** Environment variables available to `${{ env.NAME }}`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A place in a source file; both numbers are 1-based. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/**
 * Which end of a mapping member to point at: its `value` (the default) or its `key` (for
 * problems with the name itself, such as an unknown property).
 */
export type LocateTarget = 'value' | 'key';

export interface ConfigSource {
  readonly file: string;
  readonly text: string;
  /** The parsed document with `${{ env.NAME }}` expressions expanded. */
  readonly value: unknown;
  /**
   * The position of the node at `pointer`; for a missing node, that of its nearest existing
   * ancestor (so a missing required property points at the object that lacks it). A member
   * whose value is a block collection or empty is positioned at its key, where it visibly
   * starts. Undefined only when the source has no document at all.
   */
  locate(pointer: string, at?: LocateTarget): SourcePosition | undefined;
  /**
   * Pointers of the string scalars that were exactly one `${{ env.NAME }}` expression.
   * Environment variables are always strings; validation converts these (and only these) to
   * the number or boolean the schema asks for, so `port: ${{ env.PORT }}` works while a
   * literal `port: "7114"` is still reported.
   */
  readonly interpolated?: ReadonlySet<string>;
}

export interface ParsedConfig {
  readonly source: ConfigSource;
  /** `TRIB_CONFIG_SYNTAX`, `TRIB_CONFIG_ENV_MISSING` and `TRIB_CONFIG_ENV_SYNTAX` issues. */
  readonly issues: ConfigIssue[];
}

/**
 * Parses configuration text. JSON is read when `file` ends in `.json` (or the text is a JSON
 * object), YAML otherwise; duplicate keys are errors in both. Every syntax error is reported,
 * each with its position; the returned value is yaml's best-effort recovery and should not be
 * validated when there are syntax issues.
 */
export function parseConfigText(text: string, file: string, env: Env): ParsedConfig {
  const json = isJson(text, file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: true,
    uniqueKeys: true,
    schema: json ? 'json' : 'core',
    merge: !json,
  });
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const issues: ConfigIssue[] = [];
  for (const error of [...doc.errors, ...doc.warnings]) issues.push(syntaxIssue(error, doc, file, position));

  const interpolated = new Set<string>();
  visitScalars(doc.contents, '', (node, pointer) => {
    if (typeof node.value !== 'string') return;
    const result = interpolate(node.value, env);
    if (result.changed) node.value = result.value;
    if (result.whole) interpolated.add(pointer);
    const at = { file, ...position(node.range?.[0] ?? 0) };
    for (const problem of result.problems) {
      issues.push(
        problem.kind === 'missing'
          ? { ...makeIssue(errors.TRIB_CONFIG_ENV_MISSING, { name: problem.name }, pointer), ...at }
          : {
              ...makeIssue(errors.TRIB_CONFIG_ENV_SYNTAX, { expression: problem.expression }, pointer),
              ...at,
            },
      );
    }
  });

  let value: unknown = null;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    issues.push({ ...makeIssue(errors.TRIB_CONFIG_SYNTAX, { reason }, ''), file, line: 1, column: 1 });
  }

  const source: ConfigSource = {
    file,
    text,
    value,
    interpolated,
    locate: (pointer, at = 'value') => locateNode(doc, pointer, at, position),
  };
  return { source, issues };
}

/**
 * Reads and parses a configuration file (see {@link parseConfigText}); `env` defaults to
 * `process.env`. Throws `TRIB_CONFIG_READ_FAILED` when the file cannot be read.
 */
export async function readConfigFile(file: string, env: Env = process.env): Promise<ParsedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw errors.TRIB_CONFIG_READ_FAILED({ file, reason }, { cause: error });
  }
  return parseConfigText(text, file, env);
}

function isJson(text: string, file: string): boolean {
  const extension = extname(file).toLowerCase();
  if (extension === '.json') return true;
  if (extension === '.yaml' || extension === '.yml') return false;
  if (!text.trimStart().startsWith('{')) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function syntaxIssue(
  error: YAMLError,
  doc: Document,
  file: string,
  position: (offset: number) => SourcePosition,
): ConfigIssue {
  // prettyErrors appends " at line L, column C:" and a source excerpt; the issue carries both.
  const reason = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
  const start = error.linePos?.[0];
  const where = start ? { line: start.line, column: start.col } : position(error.pos[0]);
  return {
    ...makeIssue(errors.TRIB_CONFIG_SYNTAX, { reason }, pointerAt(doc, error.pos[0])),
    file,
    ...where,
  };
}

function keyOf(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return key === null || key === undefined ? '' : JSON.stringify(key);
}

/** Calls `visit` for every scalar value (not keys, not aliases), with its pointer. */
function visitScalars(node: unknown, pointer: string, visit: (node: Scalar, pointer: string) => void): void {
  if (isMap(node)) {
    for (const pair of node.items) visitScalars(pair.value, childPointer(pointer, keyOf(pair.key)), visit);
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => visitScalars(item, childPointer(pointer, index), visit));
  } else if (isScalar(node)) {
    visit(node, pointer);
  }
}

function locateNode(
  doc: Document,
  pointer: string,
  at: LocateTarget,
  position: (offset: number) => SourcePosition,
): SourcePosition | undefined {
  let node: Node | undefined = isNode(doc.contents) ? doc.contents : undefined;
  if (!node) return doc.contents === null && doc.range ? position(doc.range[0]) : undefined;
  let key: Node | undefined;
  for (const segment of parsePointer(pointer)) {
    const target: unknown = isAlias(node) ? node.resolve(doc) : node;
    if (isMap(target)) {
      const pair = target.items.find((item) => keyOf(item.key) === segment);
      if (!pair) break;
      key = isNode(pair.key) ? pair.key : undefined;
      if (!isNode(pair.value)) {
        if (key) node = key;
        break;
      }
      node = pair.value;
    } else if (isSeq(target)) {
      const item: unknown = target.items[Number(segment)];
      if (!isNode(item)) break;
      node = item;
      key = undefined;
    } else {
      break;
    }
  }
  const range = node.range;
  const empty = range !== null && range !== undefined && range[0] === range[1];
  const block = isCollection(node) && !node.flow;
  const useKey = key !== undefined && (at === 'key' || block || empty);
  const offset = useKey ? key?.range?.[0] : range?.[0];
  return offset === undefined ? undefined : position(offset);
}

/** The pointer of the innermost node whose source contains `offset`. */
function pointerAt(doc: Document, offset: number): string {
  let pointer = '';
  let node: unknown = doc.contents;
  const contains = (start: number | undefined, end: number | undefined) =>
    start !== undefined && end !== undefined && offset >= start && offset <= end;
  descend: for (;;) {
    if (isMap(node)) {
      for (const pair of node.items) {
        const start =
          (isNode(pair.key) ? pair.key.range?.[0] : undefined) ??
          (isNode(pair.value) ? pair.value.range?.[0] : undefined);
        const end =
          (isNode(pair.value) ? pair.value.range?.[2] : undefined) ??
          (isNode(pair.key) ? pair.key.range?.[2] : undefined);
        if (contains(start, end)) {
          pointer = childPointer(pointer, keyOf(pair.key));
          node = pair.value;
          continue descend;
        }
      }
    } else if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) {
        if (isNode(item) && contains(item.range?.[0], item.range?.[2])) {
          pointer = childPointer(pointer, index);
          node = item;
          continue descend;
        }
      }
    }
    return pointer;
  }
}
