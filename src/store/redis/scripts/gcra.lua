-- The lease operations of one batch (see gcra_core.lua, prepended): KEYS[i] the bucket of
-- operation i, ARGV the sites and kinds as gcra_core.lua describes them.
return gcra(KEYS, ARGV, 0, #KEYS)
