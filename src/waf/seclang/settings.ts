/** Engine-wide settings collected from directives. */
import type { EngineMode } from '../types.js';

/** What SecRuleEngine, SecRequestBody* and friends configure. */
export interface EngineSettings {
  engineMode: EngineMode;
  requestBodyAccess: boolean;
  /** Largest body (bytes) the engine accepts (SecRequestBodyLimit). */
  requestBodyLimit: number;
  /** Largest body without files (SecRequestBodyNoFilesLimit). */
  requestBodyNoFilesLimit: number;
  /** SecRequestBodyLimitAction: reject (413) or process what fits. */
  requestBodyLimitAction: 'Reject' | 'ProcessPartial';
  /** SecArgumentSeparator. */
  argumentSeparator: string;
  componentSignatures: string[];
  /** SecCollectionTimeout (kept for information; collections do not persist). */
  collectionTimeout: number;
}

/** ModSecurity's defaults. */
export function defaultSettings(): EngineSettings {
  return {
    engineMode: 'On',
    requestBodyAccess: false,
    requestBodyLimit: 13107200,
    requestBodyNoFilesLimit: 1048576,
    requestBodyLimitAction: 'Reject',
    argumentSeparator: '&',
    componentSignatures: [],
    collectionTimeout: 3600,
  };
}
