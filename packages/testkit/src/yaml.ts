/**
 * Re-exported so that repository-level tests (deploy manifests) can parse YAML without the root
 * package depending on a YAML parser.
 */
export { parse as parseYaml, parseAllDocuments } from 'yaml';
