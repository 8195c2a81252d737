/** csv-parse's stream parser is Node-only (streamTable); the page reads whole texts (csv-parse/sync). */
export { CsvError } from 'csv-parse/browser/esm/sync';
export const parse = (): never => {
  throw new Error('streamed CSV parsing is not available in the browser');
};
