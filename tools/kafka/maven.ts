// Fetches artifacts from Maven Central with the system `mvn` and a throw-away POM.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runChecked } from './util.ts';

export const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.7.1';

export interface MavenDependency {
  groupId: string;
  artifactId: string;
  version: string;
  type?: string;
  classifier?: string;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function throwAwayPom(deps: readonly MavenDependency[]): string {
  const depXml = deps
    .map((d) =>
      [
        '    <dependency>',
        `      <groupId>${xmlEscape(d.groupId)}</groupId>`,
        `      <artifactId>${xmlEscape(d.artifactId)}</artifactId>`,
        `      <version>${xmlEscape(d.version)}</version>`,
        d.type ? `      <type>${xmlEscape(d.type)}</type>` : '',
        d.classifier ? `      <classifier>${xmlEscape(d.classifier)}</classifier>` : '',
        '    </dependency>',
      ]
        .filter(Boolean)
        .join('\n'),
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tributary.tools</groupId>
  <artifactId>fetch</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
${depXml}
  </dependencies>
</project>
`;
}

async function withPom<T>(deps: readonly MavenDependency[], fn: (pomFile: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tributary-mvn-'));
  try {
    const pom = path.join(dir, 'pom.xml');
    await writeFile(pom, throwAwayPom(deps));
    return await fn(pom);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Copies the runtime closure of `deps` (jars) into `outputDir`. */
export async function copyRuntimeDependencies(
  deps: readonly MavenDependency[],
  outputDir: string,
): Promise<void> {
  await withPom(deps, (pom) =>
    runChecked('mvn', [
      '-q',
      '-B',
      '-f',
      pom,
      `${DEPENDENCY_PLUGIN}:copy-dependencies`,
      '-DincludeScope=runtime',
      `-DoutputDirectory=${outputDir}`,
    ]),
  );
}

/**
 * Copies one artifact (no dependencies), e.g. a distribution archive, into `outputDir`. Uses the
 * `copy` goal: `copy-dependencies` would resolve the artifact's whole dependency graph first, and
 * some of it (Apicurio) names repositories other than Maven Central.
 */
export async function copyArtifact(dep: MavenDependency, outputDir: string): Promise<void> {
  const coords = [dep.groupId, dep.artifactId, dep.version, dep.type ?? 'jar', dep.classifier]
    .filter((x) => x !== undefined)
    .join(':');
  await withPom([], (pom) =>
    runChecked('mvn', [
      '-q',
      '-B',
      '-f',
      pom,
      `${DEPENDENCY_PLUGIN}:copy`,
      `-Dartifact=${coords}`,
      `-DoutputDirectory=${outputDir}`,
    ]),
  );
}
