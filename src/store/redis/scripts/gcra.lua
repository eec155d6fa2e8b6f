-- Rate checks of one batch (see gcra_core.lua, prepended): KEYS[i] the bucket of check i,
-- ARGV the rates as gcra_core.lua describes them.
return gcra(KEYS, ARGV, 0, #KEYS)
