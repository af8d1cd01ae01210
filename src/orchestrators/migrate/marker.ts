/** The state database's meta key saying "the v2 state was imported" (value: JSON {file, at}). */
export const V2_STATE_IMPORT_MARKER = 'import.v2-state';
