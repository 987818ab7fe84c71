/**
 * The `tributary plugins` listing.
 *
 * @module
 */
import { PROVIDED_KINDS } from '../spi/plugin.ts';
import { SPI_VERSION } from '../spi/version.ts';
import type { Discovery } from './discover.ts';

/**
 * Lists what discovery found, in plain text columns (no colour, no trailing spaces): each
 * package with its version, SPI range, ✓/✗ for compatibility with this kernel's SPI and its
 * types by kind (one line per kind), then the problems. Imports nothing.
 */
export function describePlugins(discovery: Discovery): string {
  const lines = [`Plugins installed in ${discovery.appDir} (kernel SPI ${SPI_VERSION})`, ''];
  if (discovery.installed.length === 0) {
    lines.push('No dependency declares a "tributary" field in its package.json.');
  } else {
    const rows: string[][] = [['PACKAGE', 'VERSION', 'SPI', 'OK', 'KIND', 'TYPES']];
    for (const plugin of discovery.installed) {
      const ok = plugin.spiCompatible ? '✓' : '✗';
      const kinds = PROVIDED_KINDS.filter((kind) => (plugin.manifest.provides[kind] ?? []).length > 0);
      if (kinds.length === 0) rows.push([plugin.pkg, plugin.version, plugin.manifest.spi, ok, '-', '-']);
      kinds.forEach((kind, i) => {
        const types = (plugin.manifest.provides[kind] ?? []).join(', ');
        rows.push(
          i === 0
            ? [plugin.pkg, plugin.version, plugin.manifest.spi, ok, kind, types]
            : ['', '', '', '', kind, types],
        );
      });
    }
    lines.push(...columns(rows));
    const incompatible = discovery.installed.filter((plugin) => !plugin.spiCompatible);
    if (incompatible.length > 0) {
      lines.push(
        '',
        `✗ ${incompatible.length === 1 ? '1 plugin does' : `${incompatible.length} plugins do`} not support SPI ${SPI_VERSION}: ` +
          'upgrade the plugin, or use a kernel whose SPI is in its range.',
      );
    }
  }
  if (discovery.problems.length > 0) {
    lines.push('', 'Problems:');
    for (const problem of discovery.problems) lines.push(`  ${problem.code}  ${problem.message}`);
  }
  return lines.join('\n') + '\n';
}

/** Pads every column but the last to its widest cell (by code points, so ✓ counts as one). */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length),
      )
      .join('  ')
      .trimEnd(),
  );
}
