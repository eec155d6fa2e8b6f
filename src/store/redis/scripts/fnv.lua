-- FNV-1a, 32 bits, of a string, as a signed integer: the hash src/store/ban-digest.ts
-- computes for every banned target (prepended to the scripts that keep the ban digest).
local function fnv(text)
  local hash = bit.tobit(0x811c9dc5)
  for i = 1, #text do
    hash = bit.bxor(hash, string.byte(text, i))
    -- hash * 16777619 mod 2^32 without losing bits in a double: 16777619 = 2^24 + 403.
    hash = bit.tobit(bit.lshift(hash, 24) + hash * 403)
  end
  return hash
end
