/**
 * Human-readable issue listings for the CLI and logs.
 *
 * @module
 */
import type { ConfigIssue } from '../spi/config.ts';
import { sortIssues } from './issues.ts';

export interface FormatOptions {
  /** Use ANSI colours (only when writing to a terminal that wants them). */
  readonly color: boolean;
}

const ANSI = {
  reset: '\u001b[0m',
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  red: '\u001b[31m',
  cyan: '\u001b[36m',
};

/**
 * One line per issue, sorted by position —
 * `file:line:column  CODE  message  (pointer)` — then a summary line (`2 problems`). The
 * location is as much as is known (`file`, `file:line:column`, or `<config>`); the pointer is
 * left out for the document root.
 */
export function formatIssues(issues: readonly ConfigIssue[], options: FormatOptions): string {
  const paint = (style: keyof typeof ANSI, text: string) =>
    options.color ? `${ANSI[style]}${text}${ANSI.reset}` : text;
  const lines = sortIssues(issues).map((issue) => {
    let location = issue.file ?? '<config>';
    if (issue.line !== undefined) location += `:${issue.line}:${issue.column ?? 1}`;
    const pointer = issue.pointer === '' ? '' : `  ${paint('dim', `(${issue.pointer})`)}`;
    return `${paint('cyan', location)}  ${paint('red', issue.code)}  ${issue.message}${pointer}`;
  });
  const count = issues.length;
  const summary = count === 0 ? 'no problems' : `${count} problem${count === 1 ? '' : 's'}`;
  lines.push(count === 0 ? summary : paint('bold', paint('red', summary)));
  return lines.join('\n');
}
