/** A configuration value that cannot be used; its message is the one line shown to the operator. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly expected: string,
    got: string,
    /** A secret's value never appears in the message. */
    sensitive = false,
  ) {
    const problem = got === '' ? ' is missing' : sensitive ? ' is invalid (value hidden)' : `=${JSON.stringify(got)} is invalid`;
    super(`config: ${key}${problem}; expected ${expected}`);
    this.name = 'ConfigError';
  }
}
