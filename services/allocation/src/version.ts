export const SERVICE_NAME = 'allocation';
/** Reported in logs, `/docs` and metrics; bumped with the package version. */
export const SERVICE_VERSION = '0.1.0';
