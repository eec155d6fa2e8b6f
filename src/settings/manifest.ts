/**
 * Shapes of the settings manifests: `src/settings/core.json` and every `plugins/<id>/plugin.json`.
 * A setting is a JSON Schema fragment plus a few `x-` keywords that drive coercion and docs.
 */

/** One setting: JSON Schema for its coerced value, with Palisade's annotations. */
export interface SettingSchema {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'array';
  description: string;
  default: unknown;
  enum?: readonly unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  items?: { type: 'string'; format?: string; pattern?: string; 'x-pattern-message'?: string };
  /** The value is a duration: accepts `500ms|60s|10m|24h|7d` or bare seconds; stored in milliseconds. */
  'x-duration'?: boolean;
  /** The value is a size: bytes, or `k`, `m`, `g` (1024-based, as nginx); stored in bytes. */
  'x-size'?: boolean;
  /**
   * An integer port that may also come as a Kubernetes service link, `tcp://<ip>:<port>`
   * (what Kubernetes writes into `<SERVICE>_PORT` for every Service in the namespace): the
   * port is taken from it.
   */
  'x-service-link'?: boolean;
  /** Never shown: masked as `***` in errors, `config check`, logs and the admin API. */
  'x-secret'?: boolean;
  /** The error shown when `pattern` does not match, read after the name ("must be …"). */
  'x-pattern-message'?: string;
  /** Also read as numbered variants `NAME_1` … `NAME_99` (rules), which have no default. */
  'x-multiple'?: boolean;
  /** Text for the docs where the default is computed at boot (e.g. the hostname). */
  'x-default-doc'?: string;
  /** A reload leaves it as it is: a change takes effect at the next start. */
  'x-restart'?: boolean;
}

/** The settings part shared by core.json and plugin.json. */
export interface SettingsManifest {
  id: string;
  name: string;
  description: string;
  settings: Record<string, SettingSchema>;
}

/** A plugin's plugin.json. */
export interface PluginManifest extends SettingsManifest {
  version: string;
  /** Plugins that must be enabled (and are provisioned earlier) for this one to run. */
  dependsOn: string[];
  /** What a throwing hook does: `open` logs and continues, `closed` answers 503. */
  onFailure: 'open' | 'closed';
  /** The boolean setting that turns the plugin on (`USE_<X>`); absent means always on. */
  enabledBy?: string;
  /**
   * What a reload does with this plugin's settings: `live` (the default) provisions it again
   * with the new values; `restart`: changes wait for a restart (the plugin holds what the
   * whole node depends on, such as its Redis connections).
   */
  reload?: 'live' | 'restart';
}
