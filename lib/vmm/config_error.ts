/**
 * ConfigError: the VM was asked for something impossible (bad sizes, addresses, images).
 *
 * @module
 */

/** A bad VM configuration or guest image; the CLI reports it as a usage error (exit 2). */
export class ConfigError extends Error {
  /** Builds the error with a one-line, sentence-case message. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}
