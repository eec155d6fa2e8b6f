/**
 * The variables the engine knows. Collections have keys (`ARGS:name`); the rest are
 * single values. Response variables exist but are always empty: the engine only runs
 * request phases.
 */

/** Keyed collections. */
export const COLLECTIONS = new Set([
  'ARGS',
  'ARGS_GET',
  'ARGS_POST',
  'ARGS_NAMES',
  'ARGS_GET_NAMES',
  'ARGS_POST_NAMES',
  'REQUEST_HEADERS',
  'REQUEST_HEADERS_NAMES',
  'REQUEST_COOKIES',
  'REQUEST_COOKIES_NAMES',
  'FILES',
  'FILES_NAMES',
  'FILES_SIZES',
  'FILES_TMPNAMES',
  'FILES_TMP_CONTENT',
  'MULTIPART_PART_HEADERS',
  'TX',
  'IP',
  'GLOBAL',
  'SESSION',
  'USER',
  'RESOURCE',
  'ENV',
  'GEO',
  'RULE',
  'XML',
  'MATCHED_VARS',
  'MATCHED_VARS_NAMES',
  'RESPONSE_HEADERS',
  'RESPONSE_HEADERS_NAMES',
  'MULTIPART_FILENAME',
  'MULTIPART_NAME',
  'ARGS_JSON',
  'PERF_RULES',
]);

/** Single-valued variables. */
export const SCALARS = new Set([
  'ARGS_COMBINED_SIZE',
  'FILES_COMBINED_SIZE',
  'REQUEST_FILENAME',
  'REQUEST_BASENAME',
  'REQUEST_URI',
  'REQUEST_URI_RAW',
  'REQUEST_LINE',
  'REQUEST_METHOD',
  'REQUEST_PROTOCOL',
  'QUERY_STRING',
  'REQUEST_BODY',
  'REQUEST_BODY_LENGTH',
  'MATCHED_VAR',
  'MATCHED_VAR_NAME',
  'REQBODY_ERROR',
  'REQBODY_ERROR_MSG',
  'REQBODY_PROCESSOR',
  'REQBODY_PROCESSOR_ERROR',
  'REQBODY_PROCESSOR_ERROR_MSG',
  'INBOUND_DATA_ERROR',
  'MULTIPART_STRICT_ERROR',
  'MULTIPART_UNMATCHED_BOUNDARY',
  'MULTIPART_BOUNDARY_QUOTED',
  'MULTIPART_BOUNDARY_WHITESPACE',
  'MULTIPART_DATA_BEFORE',
  'MULTIPART_DATA_AFTER',
  'MULTIPART_HEADER_FOLDING',
  'MULTIPART_LF_LINE',
  'MULTIPART_CRLF_LF_LINES',
  'MULTIPART_MISSING_SEMICOLON',
  'MULTIPART_INVALID_QUOTING',
  'MULTIPART_INVALID_PART',
  'MULTIPART_INVALID_HEADER_FOLDING',
  'MULTIPART_FILE_LIMIT_EXCEEDED',
  'REMOTE_ADDR',
  'REMOTE_HOST',
  'REMOTE_PORT',
  'REMOTE_USER',
  'SERVER_ADDR',
  'SERVER_NAME',
  'SERVER_PORT',
  'UNIQUE_ID',
  'TIME',
  'TIME_DAY',
  'TIME_EPOCH',
  'TIME_HOUR',
  'TIME_MIN',
  'TIME_MON',
  'TIME_SEC',
  'TIME_WDAY',
  'TIME_YEAR',
  'DURATION',
  'HIGHEST_SEVERITY',
  'WEBSERVER_ERROR_LOG',
  'STATUS',
  'RESPONSE_BODY',
  'RESPONSE_STATUS',
  'RESPONSE_PROTOCOL',
  'RESPONSE_CONTENT_LENGTH',
  'RESPONSE_CONTENT_TYPE',
  'OUTBOUND_DATA_ERROR',
  'STATUS_LINE',
  'AUTH_TYPE',
  'PATH_INFO',
  'FULL_REQUEST',
  'FULL_REQUEST_LENGTH',
  'USERID',
  'SESSIONID',
  'WEBAPPID',
  'STREAM_INPUT_BODY',
  'STREAM_OUTPUT_BODY',
  'URLENCODED_ERROR',
  'SCRIPT_FILENAME',
  'SCRIPT_BASENAME',
  'SDBM_DELETE_ERROR',
  'MODSEC_BUILD',
  'REQUEST_FILENAME_RAW',
]);

/** True when `name` (upper-case) is a variable the engine can resolve. */
export function isKnownVariable(name: string): boolean {
  return COLLECTIONS.has(name) || SCALARS.has(name);
}

/** Variables whose values change while rules run; their selections are never cached. */
const LIVE = new Set([
  'TX',
  'MATCHED_VAR',
  'MATCHED_VAR_NAME',
  'MATCHED_VARS',
  'MATCHED_VARS_NAMES',
  'RULE',
  'ENV',
  'IP',
  'GLOBAL',
  'SESSION',
  'USER',
  'RESOURCE',
  'DURATION',
  'REQBODY_PROCESSOR',
  'REQBODY_ERROR',
  'REQBODY_ERROR_MSG',
  'REQBODY_PROCESSOR_ERROR',
  'REQBODY_PROCESSOR_ERROR_MSG',
]);

/** True for variables that change during a phase (see LIVE). */
export function isLiveVariable(name: string): boolean {
  return LIVE.has(name) || name.startsWith('TIME');
}

const INTERNED = new Map<string, string>([...COLLECTIONS, ...SCALARS].map((n) => [n, n]));

/** The canonical (shared) string for a known variable name, so run-time comparisons are cheap. */
export function internVariable(name: string): string {
  return INTERNED.get(name) ?? name;
}
