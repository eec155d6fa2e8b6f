/**
 * The engine's base configuration, to load before the CRS. It plays the part of
 * ModSecurity's recommended `modsecurity.conf`: body access on, body limits, and the
 * rules that choose the XML/JSON body processors by Content-Type and flag bodies that
 * failed to parse or multipart bodies that failed strict validation.
 */
export const BASE_CONFIG = String.raw`
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject

# XML and JSON bodies are parsed only when the Content-Type says so.
SecRule REQUEST_HEADERS:Content-Type "@rx ^(?:application(?:/soap\+|/)|text/)xml" \
  "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "@rx ^application/json" \
  "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQUEST_HEADERS:Content-Type "@rx ^application/[a-z0-9.-]+[+]json" \
  "id:200006,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"

# A body that could not be parsed is refused rather than passed uninspected.
SecRule REQBODY_ERROR "!@eq 0" \
  "id:200002,phase:2,t:none,log,deny,status:400,msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}',severity:2"

# Multipart bodies must pass strict validation.
SecRule MULTIPART_STRICT_ERROR "!@eq 0" \
  "id:200003,phase:2,t:none,log,deny,status:400,msg:'Multipart request body failed strict validation.',severity:2"
SecRule MULTIPART_UNMATCHED_BOUNDARY "@eq 1" \
  "id:200004,phase:2,t:none,log,deny,status:400,msg:'Multipart parser detected a possible unmatched boundary.',severity:2"
`;
