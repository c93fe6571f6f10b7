export const SERVICE_NAME = 'scoring';
/** Reported in logs, `/docs` and metrics; bumped with the package version. */
export const SERVICE_VERSION = '0.1.0';
