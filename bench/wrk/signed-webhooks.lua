-- signed-webhooks.lua — wrk script: every request is a unique, correctly signed Xero webhook.
--
--   XERO_WEBHOOK_KEY=... wrk -t2 -c32 -d15s --latency -s bench/wrk/signed-webhooks.lua \
--       http://127.0.0.1:PORT/webhooks/xero
--
-- Body: Xero's delivery shape, compact JSON, BENCH_EVENTS events (default 1), padded through
-- the `entropy` field to BENCH_BODY_BYTES bytes (default 600). Each event has a unique
-- resourceId (per-thread random nonce + thread id + per-thread counter), so the gateway's
-- dedup key (tenantId, eventCategory, resourceId, eventDateUtc, eventType) never collides,
-- across threads nor across wrk runs against the same database.
-- Signature: x-xero-signature = base64(HMAC-SHA256(key bytes as-is, body)) through LuaJIT ffi
-- into libcrypto (HMAC + EVP_EncodeBlock).
-- Non-200 responses are counted per status and printed by done() as "non-200: N".
-- BENCH_TENANT_ID overrides the tenantId of every event.
-- BENCH_TARGETS="127.0.0.1:P1 127.0.0.1:P2" spreads the threads over those servers in turn
-- (thread i to target i mod n; the URL's address is then unused): use -t as a multiple of n, so
-- each server gets the same connections; latency is one histogram over all of them; done()
-- prints each thread's target and count.

local ffi = require("ffi")

ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len,
                    const unsigned char *d, size_t n, unsigned char *md, unsigned int *md_len);
int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n);
]]

local function load_crypto()
  for _, name in ipairs({ "libcrypto.so.3", "crypto", "libcrypto.so" }) do
    local ok, lib = pcall(ffi.load, name)
    if ok then return lib end
  end
  error("signed-webhooks.lua: cannot load libcrypto (tried libcrypto.so.3, crypto)")
end

local C = load_crypto()
local KEY = os.getenv("XERO_WEBHOOK_KEY")
local TENANT = os.getenv("BENCH_TENANT_ID") or "7d1c0e5a-3f2b-4c8d-9e6a-b5f4a3c2d1e0"
local TARGET_BYTES = tonumber(os.getenv("BENCH_BODY_BYTES") or "600")
local EVENTS = tonumber(os.getenv("BENCH_EVENTS") or "1")
local TARGETS = {}
for t in string.gmatch(os.getenv("BENCH_TARGETS") or "", "%S+") do
  local host, port = t:match("^(.+):(%d+)$")
  if host == nil then error("signed-webhooks.lua: BENCH_TARGETS entry is not host:port: " .. t) end
  TARGETS[#TARGETS + 1] = { name = t, host = host, port = port }
end

local md = ffi.new("unsigned char[64]")
local md_len = ffi.new("unsigned int[1]")
local b64 = ffi.new("unsigned char[128]")
local sha256 = nil

local function sign(body)
  if C.HMAC(sha256, KEY, #KEY, body, #body, md, md_len) == nil then
    error("signed-webhooks.lua: HMAC failed")
  end
  local n = C.EVP_EncodeBlock(b64, md, md_len[0])
  return ffi.string(b64, n)
end

-- ---------------------------------------------------------------- main state (setup/done)
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
  if #TARGETS > 0 then
    local t = TARGETS[(next_id - 1) % #TARGETS + 1]
    local addrs = wrk.lookup(t.host, t.port)
    if addrs == nil or #addrs == 0 then error("signed-webhooks.lua: cannot resolve " .. t.name) end
    thread.addr = addrs[1]
    thread:set("target", t.name)
  end
  table.insert(threads, thread)
end

-- ---------------------------------------------------------------- per-thread state
thread_id = 0
sent = 0
non200 = 0
statuses = ""           -- "401:3 500:1", filled in done-time order
local status_counts = {}
local nonce_a, nonce_b, nonce_c = 0, 0, 0
local pool = ""          -- random uppercase letters for `entropy`
local counter = 0
local cached_sec, cached_date = -1, ""

local function urandom_bytes(n)
  local f = io.open("/dev/urandom", "rb")
  if f then
    local s = f:read(n)
    f:close()
    if s and #s == n then return s end
  end
  -- fallback: time based
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + thread_id * 7919)
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

function init(args)
  if KEY == nil or KEY == "" then
    io.stderr:write("signed-webhooks.lua: XERO_WEBHOOK_KEY is not set\n")
    os.exit(2)
  end
  sha256 = C.EVP_sha256()
  local r = urandom_bytes(6 + 512)
  nonce_a = r:byte(1) * 256 + r:byte(2)
  nonce_b = r:byte(3) * 256 + r:byte(4)
  nonce_c = (r:byte(5) * 256 + r:byte(6)) % 4096
  local letters = {}
  for i = 7, #r do letters[#letters + 1] = string.char(65 + r:byte(i) % 26) end
  pool = table.concat(letters)
end

local function event_date()
  local sec = os.time()
  if sec ~= cached_sec then
    cached_sec = sec
    cached_date = os.date("!%Y-%m-%dT%H:%M:%S", sec)
  end
  return string.format("%s.%03d", cached_date, counter % 1000)
end

local function event_json(seq)
  -- uuid-shaped and unique: nonce(32 bits) - thread id - 4+nonce(12 bits) - 8+counter high - counter low
  local id = string.format("%04x%04x-%04x-4%03x-8%03x-%012x",
    nonce_a, nonce_b, thread_id % 65536, nonce_c, math.floor(seq / 2^48) % 4096, seq % 2^48)
  local category, collection, etype
  if seq % 4 == 0 then
    category, collection, etype = "INVOICE", "Invoices", (seq % 8 == 0) and "CREATE" or "UPDATE"
  else
    category, collection, etype = "CONTACT", "Contacts", "UPDATE"
  end
  return string.format(
    '{"resourceUrl":"https://api.xero.com/api.xro/2.0/%s/%s","resourceId":"%s",' ..
    '"eventDateUtc":"%s","eventType":"%s","eventCategory":"%s","tenantId":"%s",' ..
    '"tenantType":"ORGANISATION"}',
    collection, id, id, event_date(), etype, category, TENANT)
end

function request()
  local parts = {}
  local first = counter + 1
  for i = 1, EVENTS do
    counter = counter + 1
    parts[i] = event_json(counter)
  end
  local head = string.format('{"events":[%s],"firstEventSequence":%d,"lastEventSequence":%d,"entropy":"',
    table.concat(parts, ","), first, counter)
  local pad = TARGET_BYTES - #head - 2
  if pad < 20 then pad = 20 end
  if pad > #pool then pad = #pool end
  local off = (counter * 37) % (#pool - pad + 1)
  local body = head .. pool:sub(off + 1, off + pad) .. '"}'
  sent = sent + 1
  return wrk.format("POST", "/webhooks/xero", {
    ["Content-Type"] = "application/json; charset=utf-8",
    ["x-xero-signature"] = sign(body),
  }, body)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    status_counts[status] = (status_counts[status] or 0) + 1
    local t = {}
    for s, n in pairs(status_counts) do t[#t + 1] = s .. ":" .. n end
    statuses = table.concat(t, " ")
  end
end

function done(summary, latency, requests)
  local total_non200, total_sent = 0, 0
  local detail = {}
  for _, t in ipairs(threads) do
    total_non200 = total_non200 + (tonumber(t:get("non200")) or 0)
    total_sent = total_sent + (tonumber(t:get("sent")) or 0)
    local s = t:get("statuses")
    if s and s ~= "" then detail[#detail + 1] = "thread " .. tostring(t:get("thread_id")) .. ": " .. s end
  end
  if #TARGETS > 0 then
    for _, t in ipairs(threads) do
      io.write(string.format("target: thread %s %s sent %d non-200 %d\n", tostring(t:get("thread_id")),
        tostring(t:get("target")), tonumber(t:get("sent")) or 0, tonumber(t:get("non200")) or 0))
    end
  end
  local e = summary.errors
  io.write(string.format("signed-webhooks: %d requests completed, %d generated, body %d bytes, %d event(s)/request\n",
    summary.requests, total_sent, TARGET_BYTES, EVENTS))
  io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
    e.connect, e.read, e.write, e.timeout))
  io.write(string.format("non-200: %d\n", total_non200))
  for _, d in ipairs(detail) do io.write("non-200 by status (" .. d .. ")\n") end
end
