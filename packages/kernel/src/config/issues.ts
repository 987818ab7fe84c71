/**
 * Building, positioning and ordering {@link ConfigIssue}s.
 *
 * @module
 */
import type { ConfigIssue } from '../spi/config.ts';
import { formatMessage, type ErrorFactory } from '../spi/errors.ts';
import type { ConfigSource, LocateTarget } from './source.ts';

/** What an issue needs from its source to be positioned. */
export type IssueLocator = Pick<ConfigSource, 'file' | 'locate'>;

/**
 * An issue with `factory`'s code and message, positioned at `pointer` in `source` when given.
 * `at: 'key'` positions a member at its key rather than its value (unknown properties, names
 * used as keys).
 */
export function makeIssue(
  factory: ErrorFactory,
  params: Readonly<Record<string, unknown>>,
  pointer: string,
  source?: IssueLocator,
  at?: LocateTarget,
): ConfigIssue {
  const issue: ConfigIssue = {
    code: factory.code,
    message: formatMessage(factory.spec.message, params),
    pointer,
  };
  return source ? positionIssue(issue, source, at) : issue;
}

/** Fills `file`, `line` and `column` from the issue's pointer where the issue lacks them. */
export function positionIssue(issue: ConfigIssue, source: IssueLocator, at?: LocateTarget): ConfigIssue {
  if (issue.file !== undefined && issue.line !== undefined) return issue;
  const position = issue.line === undefined ? source.locate(issue.pointer, at) : undefined;
  return {
    ...issue,
    file: issue.file ?? source.file,
    ...(position ? { line: position.line, column: position.column } : {}),
  };
}

/** Orders by file, line, column, then pointer and code; issues without a position go last. */
export function compareIssues(a: ConfigIssue, b: ConfigIssue): number {
  const unplaced = Number(a.file === undefined) - Number(b.file === undefined);
  if (unplaced !== 0) return unplaced;
  const file = (a.file ?? '').localeCompare(b.file ?? '');
  if (file !== 0) return file;
  const line = (a.line ?? Infinity) - (b.line ?? Infinity);
  if (line !== 0 && !Number.isNaN(line)) return line;
  const column = (a.column ?? Infinity) - (b.column ?? Infinity);
  if (column !== 0 && !Number.isNaN(column)) return column;
  return a.pointer.localeCompare(b.pointer) || a.code.localeCompare(b.code);
}

export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort(compareIssues);
}

/** Drops repeated issues (same code, pointer and message), keeping the first. */
export function dedupeIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.code}\u0000${issue.pointer}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
