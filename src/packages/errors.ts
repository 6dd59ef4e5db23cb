/**
 * A package that cannot be installed (unreadable, for another FHIR version, or clashing with
 * what is installed). Its message says which package and why; start-up and the CLI print it.
 */
export class PackageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackageError';
  }
}
