/**
 * What the kernel gives plugins: a logger, an event sink and a DI container.
 *
 * @module
 */
import type { DependencyContainer } from 'tsyringe';

/** The subset of a pino logger plugins may rely on. Secrets are redacted by the kernel. */
export interface Logger {
  fatal(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  trace(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * A typed diagnostic event: operational trouble and recovery (broker unreachable, registry
 * back…). Emit on state *transitions* only, never per message. `name` is dotted and stable
 * (`kafka.connection.lost`), documented in the emitting package's `docs/events` section.
 */
export interface DiagnosticEvent {
  readonly name: string;
  readonly level: 'error' | 'warn' | 'info';
  readonly message: string;
  /** Structured detail; never secrets. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

export interface EventSink {
  emit(event: DiagnosticEvent): void;
}

export interface PluginContext {
  /** The plugin's child container; register and resolve with explicit tokens only. */
  readonly container: DependencyContainer;
  readonly logger: Logger;
  readonly events: EventSink;
  /** Directory of the configuration file, for resolving relative paths in options. */
  readonly configDir: string;
  /**
   * Holds back the gateway's readiness until `until` settles (e.g. bootstrap topics hydrated).
   * A rejection is logged and readiness is released; it does not stop the gateway.
   */
  holdReadiness(label: string, until: Promise<unknown>): void;
}
