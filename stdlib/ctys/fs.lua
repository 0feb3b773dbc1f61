--- Files whose owner matters. State, pid files and sockets live in shared directories
--- (/var/tmp), where anyone may plant a file under a name ctys uses; `trusted` reads and
--- removals accept only what the caller (or root, or the listed owners) owns, nobody else may
--- write, and is no symbolic link. Writes are atomic and never follow a link.
---
--- ```lua
--- assert(ctys.fs.write("/var/tmp/x.state", "data"))       -- mode 0600
--- local text, e, kind = ctys.fs.read("/var/tmp/x.state", { trusted = true })
--- if not text and kind ~= "notfound" then error(e) end
--- ```
---@class ctys.fs
local M = {}

local core = require "ctys.core"
local check = require "ctys.check"

-- Reads are bounded: state files are small, and a planted one may be huge.
local DEFAULT_MAX = 16 * 1024 * 1024

local function path_arg(fname, p)
  if type(p) ~= "string" or p == "" then check.bad(fname, "path", "expected a non-empty path, got %s", type(p)) end
  return p
end

local function owners(fname, list)
  if list == nil then return nil end
  for i, uid in ipairs(list) do
    if math.type(uid) ~= "integer" or uid < 0 then check.bad(fname, "owners[" .. i .. "]", "expected a uid") end
  end
  return list
end

---The caller's effective uid: the owner (besides root) of what `trusted` accepts.
---@return integer
function M.euid()
  return core.euid()
end

---@class ctys.fs.ReadOpts
---@field trusted? boolean the file must be owned by the caller, root or `owners`, writable by nobody else, no symbolic link
---@field owners? integer[] more uids whose files count as trusted
---@field max? integer the largest size accepted, in bytes (16 MiB)

---A regular file's bytes. Failure kinds: notfound, untrusted, toolarge, permission, io.
---@param path string
---@param opts? ctys.fs.ReadOpts
---@return string|nil data
---@return string? err
---@return string? kind
function M.read(path, opts)
  path_arg("ctys.fs.read", path)
  opts = check.opts("ctys.fs.read", opts or {}, { trusted = "boolean", owners = "table", max = "integer" })
  local trust = opts.trusted and (owners("ctys.fs.read", opts.owners) or {}) or nil
  return core.fs_read(path, opts.max or DEFAULT_MAX, trust)
end

---Replace a file with `data` atomically (mode 0600 unless given). A file there that is not
---trusted (someone else's, writable by others, a symbolic link) is refused.
---@param path string
---@param data string
---@param mode? integer permission bits, e.g. 420 (0644)
---@return true|nil ok
---@return string? err
---@return string? kind
function M.write(path, data, mode)
  path_arg("ctys.fs.write", path)
  if type(data) ~= "string" then check.bad("ctys.fs.write", "data", "expected a string, got %s", type(data)) end
  if mode ~= nil and (math.type(mode) ~= "integer" or mode < 0 or mode > 4095) then
    check.bad("ctys.fs.write", "mode", "expected permission bits (0-4095), got %s", tostring(mode))
  end
  return core.fs_write(path, data, mode or 384)
end

---Remove a trusted file, or a trusted directory with everything in it; false when nothing was
---there. Something not trusted is left alone (kind untrusted); `/`, a path with `..` and, with
---`within`, a path outside that directory are never removed (kind invalid).
---@param path string
---@param opts? {owners?: integer[], within?: string} more uids whose entries count as trusted; the directory the path must be in
---@return boolean|nil removed
---@return string? err
---@return string? kind
function M.remove(path, opts)
  path_arg("ctys.fs.remove", path)
  opts = check.opts("ctys.fs.remove", opts or {}, { owners = "table", within = "string" })
  return core.fs_remove(path, owners("ctys.fs.remove", opts.owners), opts.within)
end

---Set an entry's permission bits (0-4095, e.g. tonumber("755", 8)); no link is followed and only
---the caller's own entries change. Kinds: untrusted, notfound, permission, io.
---@param path string
---@param mode integer
---@return true|nil ok
---@return string? err
---@return string? kind
function M.chmod(path, mode)
  path_arg("ctys.fs.chmod", path)
  if math.type(mode) ~= "integer" or mode < 0 or mode > 4095 then check.bad("ctys.fs.chmod", "mode", "expected permission bits (0-4095), got %s", tostring(mode)) end
  return core.fs_chmod(path, mode)
end

---Give an entry to a uid and/or gid (nil keeps that one); no link is followed and only the
---caller's own entries change (in practice: root's tool).
---@param path string
---@param uid? integer
---@param gid? integer
---@return true|nil ok
---@return string? err
---@return string? kind
function M.chown(path, uid, gid)
  path_arg("ctys.fs.chown", path)
  for name, id in pairs { uid = uid, gid = gid } do
    if math.type(id) ~= "integer" or id < 0 then check.bad("ctys.fs.chown", name, "expected a non-negative integer, got %s", tostring(id)) end
  end
  return core.fs_chown(path, uid, gid)
end

---Rename an entry of the caller's within one file system (a link is moved, not followed).
---@param from string
---@param to string
---@return true|nil ok
---@return string? err
---@return string? kind
function M.rename(from, to)
  if type(from) ~= "string" or from == "" then check.bad("ctys.fs.rename", "from", "expected a non-empty path, got %s", type(from)) end
  if type(to) ~= "string" or to == "" then check.bad("ctys.fs.rename", "to", "expected a non-empty path, got %s", type(to)) end
  return core.fs_rename(from, to)
end

---Make a directory only the caller may write (0700; missing parents 0755), or check that the
---one there is the caller's and nobody else may write it.
---@param path string
---@return true|nil ok
---@return string? err
---@return string? kind
function M.private_dir(path)
  return core.fs_private_dir(path_arg("ctys.fs.private_dir", path))
end

---@class ctys.fs.Stat
---@field type "file"|"dir"|"link"|"socket"|"fifo"|"char"|"block"
---@field uid integer
---@field gid integer
---@field mode integer permission bits with setuid, setgid and sticky
---@field size integer

---What lstat says of a path (a symbolic link is reported, not followed).
---@param path string
---@return ctys.fs.Stat|nil
---@return string? err
---@return string? kind "notfound"|"permission"|"io"
function M.stat(path)
  return core.fs_stat(path_arg("ctys.fs.stat", path))
end

---The regular files under a directory and its subdirectories, as sorted paths relative to it.
---A link to a file counts; a link to a directory is not entered. A missing directory has none.
---Failure kinds: toolarge (more than `max`, default 100000), permission, io.
---@param dir string
---@param max? integer
---@return string[]|nil files
---@return string? err
---@return string? kind
function M.list(dir, max)
  path_arg("ctys.fs.list", dir)
  if max ~= nil and (math.type(max) ~= "integer" or max < 1) then check.bad("ctys.fs.list", "max", "expected a positive integer, got %s", tostring(max)) end
  return core.fs_list(dir, max or 100000)
end

return M
