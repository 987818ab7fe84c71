/**
 * The `tributary` field of a plugin package's `package.json`: its shape, checked without
 * importing anything.
 *
 * @module
 */
import semver from 'semver';
import { PROVIDED_KINDS, type PluginManifest, type ProvidedKind } from '../spi/plugin.ts';
import type { TributaryError } from '../spi/errors.ts';
import { errors } from '../errors.ts';

const EXAMPLE = '{ "spi": "^1.0.0", "provides": { "bindings": ["my-type"] } }';

/**
 * Checks a `tributary` field. Every problem is reported at once, in one
 * `TRIB_PLUGIN_MANIFEST_INVALID` error. Unknown top-level keys are tolerated so that later
 * kernels may add fields; unknown kinds under `provides` are not (a typo would hide a type).
 */
export function validateManifest(
  pkg: string,
  value: unknown,
): { readonly manifest: PluginManifest } | { readonly problem: TributaryError } {
  const reasons: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problem: invalid(pkg, [`expected an object like ${EXAMPLE}`]) };
  }
  const field = value as Record<string, unknown>;

  const spi = field['spi'];
  if (typeof spi !== 'string' || spi.trim() === '') {
    reasons.push('"spi" must be the semver range of plugin SPI versions supported, e.g. "^1.0.0"');
  } else if (semver.validRange(spi) === null) {
    reasons.push(`"spi" is ${JSON.stringify(spi)}, which is not a semver range`);
  }

  const provides: Partial<Record<ProvidedKind, readonly string[]>> = {};
  const rawProvides = field['provides'];
  if (typeof rawProvides !== 'object' || rawProvides === null || Array.isArray(rawProvides)) {
    reasons.push(
      `"provides" must be an object mapping kinds (${PROVIDED_KINDS.join(', ')}) to lists of type names`,
    );
  } else {
    for (const [kind, types] of Object.entries(rawProvides as Record<string, unknown>)) {
      if (!(PROVIDED_KINDS as readonly string[]).includes(kind)) {
        reasons.push(
          `"provides.${kind}" is not a kind of plugin type (expected ${PROVIDED_KINDS.join(', ')})`,
        );
        continue;
      }
      if (!Array.isArray(types) || !types.every((type) => typeof type === 'string' && /^\S+$/.test(type))) {
        reasons.push(`"provides.${kind}" must be an array of type names`);
        continue;
      }
      const names = types as string[];
      const twice = names.filter((type, i) => names.indexOf(type) !== i);
      if (twice.length > 0)
        reasons.push(`"provides.${kind}" lists ${quoteList([...new Set(twice)])} more than once`);
      provides[kind as ProvidedKind] = Object.freeze([...new Set(names)]);
    }
  }

  if (reasons.length > 0) return { problem: invalid(pkg, reasons) };
  return { manifest: Object.freeze({ spi: spi as string, provides: Object.freeze(provides) }) };
}

function invalid(pkg: string, reasons: readonly string[]): TributaryError {
  return errors.TRIB_PLUGIN_MANIFEST_INVALID({ pkg, reason: reasons.join('; ') });
}

export const quoteList = (items: readonly string[]): string => items.map((item) => `"${item}"`).join(', ');

/** True when this kernel's SPI version is inside `range` (false for an invalid range). */
export function spiSatisfies(spiVersion: string, range: string): boolean {
  return semver.validRange(range) !== null && semver.satisfies(spiVersion, range);
}

/**
 * What to do about an SPI mismatch: a range entirely below this kernel's SPI means the plugin is
 * older than the kernel; a range above it means the kernel is older than the plugin.
 */
export function spiAdvice(
  pkg: string,
  version: string,
  range: string,
  spiVersion: string,
  kernelVersion: string,
): string {
  const plugin = `${pkg}@${version}`;
  const kernel = `@tributary/kernel@${kernelVersion}`;
  if (semver.validRange(range) !== null && semver.ltr(spiVersion, range)) {
    return `${plugin} needs a newer kernel than ${kernel}: upgrade @tributary/kernel (or install a version of ${pkg} that supports SPI ${spiVersion})`;
  }
  return `${plugin} was built for an older SPI than ${kernel} implements: upgrade ${pkg} to a version that supports SPI ${spiVersion} (or use a kernel that implements ${range})`;
}
