---@meta
-- Type stubs for editors (LuaLS / EmmyLua): the native primitives in `ctys.core`.
-- Every function in ctys.core has a stub here; tests/lua/meta_spec.lua fails when one is missing.
-- Scripts normally use the stdlib wrappers (`ctys.sleep`, `ctys.log`, ...), which check arguments.

---@class ctys.core
ctys.core = {}

---The ctys-rs version.
---@type string
ctys.core.version = ""

---The path of the running binary (for re-running it, e.g. under sudo).
---@type string
ctys.core.exe = ""

---Directories searched for Lua modules before the built-in copies, in order.
---@type string[]
ctys.core.lua_path = {}

---Write a message to the host's logger (stderr).
---@param level "error"|"warn"|"info"|"debug"|"trace"
---@param msg string
function ctys.core.log(level, msg) end

---Whether messages of this level are written now.
---@param level "error"|"warn"|"info"|"debug"|"trace"
---@return boolean
function ctys.core.log_enabled(level) end

---Set the most verbose level written.
---@param level "error"|"warn"|"info"|"debug"|"trace"
function ctys.core.set_log_level(level) end

---Module names visible to `require` (site directories and built-in), sorted.
---@param prefix? string only names starting with this
---@return string[]
function ctys.core.modules(prefix) end

---The source of a built-in file, by its path in the source tree.
---@param path string e.g. "stdlib/ctys/log.lua"
---@return string|nil
function ctys.core.embedded(path) end

---Paths of every built-in file.
---@return string[]
function ctys.core.embedded_files() end

---Suspend the calling coroutine for a while (async: other tasks run meanwhile).
---@param seconds number
function ctys.core.sleep(seconds) end

---Run `f(...)` as a task on the host's thread.
---@param f function
---@param ... any
---@return ctys.core.Task
function ctys.core.spawn(f, ...) end

---@class ctys.core.Task
local Task = {}

---Wait for the task; its results, or its error raised.
---@return any ...
function Task:join() end

---Whether the task has finished.
---@return boolean
function Task:done() end

---Cancel the task at its next wait.
function Task:abort() end

---The machine's host name (gethostname), or nil.
---@return string|nil
function ctys.core.hostname() end

---Whether a standard stream is a terminal.
---@param stream "stdin"|"stdout"|"stderr"
---@return boolean
function ctys.core.isatty(stream) end

---@class ctys.core.RemoteTarget
---@field host string host name or address as the user named it
---@field user? string
---@field port? integer

---@class ctys.core.RemoteSpec
---@field targets ctys.core.RemoteTarget[]
---@field cmd string command line for the remote POSIX shell
---@field stdin? string bytes sent to the command's stdin
---@field forward_stdin? boolean stream this process's stdin to every host as it arrives (instead of `stdin`)
---@field env? table<string,string> environment for the command
---@field pty? boolean run under a pseudo-terminal (stdout and stderr merged)
---@field timeout? number seconds; then the remote process group gets SIGTERM
---@field connect_timeout? number seconds for TCP, handshake and authentication (default 10)
---@field fanout? integer hosts at once (default 64)
---@field user? string default user (a target's own user wins)
---@field port? integer default port (a target's own port wins)
---@field identity? string identity file tried first
---@field known_hosts? string known_hosts file (default ~/.ssh/known_hosts)
---@field strict? "strict"|"accept-new"|"off" host key mode (default strict)
---@field config? string ssh_config file, or "none" (default ~/.ssh/config)
---@field on_line? fun(host: string, stream: "stdout"|"stderr", line: string)
---@field on_progress? fun(done: integer, failed: integer, running: integer, elapsed: number)
---@field max_output? integer the most bytes of output kept per host (64 MiB); more is kind toolarge
---@field fresh? boolean connect anew and keep nothing (the sessions are kept per host otherwise)
---@field routes? table<integer, string[][]> per target (by index), the gateways between here and it: candidates per level, nearest first (ctys.topology.route)
---@field gateway_cmd? string the command that runs ctys on a gateway (`--gateway` is added); needed with routes

---@class ctys.core.RemoteResult
---@field host string
---@field status? integer exit status, when the command exited
---@field signal? string signal name, when a signal ended it
---@field stdout string
---@field stderr string
---@field err? string why the host failed (connect, host key, auth, timeout, ...), naming the host first
---@field kind? "resolve"|"connect"|"hostkey"|"auth"|"timeout"|"cancelled"|"ssh"

---Run one command on many hosts over SSH (async; fan-out on worker threads).
---@param spec ctys.core.RemoteSpec
---@return ctys.core.RemoteResult[]|nil results in the order of spec.targets
---@return string? err when the ssh_config cannot be read
function ctys.core.remote_exec(spec) end

---Close the SSH sessions kept for reuse (remote_exec keeps one per user, host, port and identity
---after each use); the next exec connects anew. How many were closed.
---@return integer
function ctys.core.remote_close_all() end

---@class ctys.core.SessionSpec
---@field target ctys.core.RemoteTarget
---@field connect_timeout? number seconds for TCP, handshake and authentication (default 10)
---@field user? string default user (the target's own user wins)
---@field port? integer default port (the target's own port wins)
---@field identity? string identity file tried first
---@field known_hosts? string known_hosts file (default ~/.ssh/known_hosts)
---@field strict? "strict"|"accept-new"|"off" host key mode (default strict)
---@field config? string ssh_config file, or "none" (default ~/.ssh/config)

---Open a session to one host now and keep it for the exec, copy and fetch calls that follow
---(async): true, or nil and why.
---@param spec ctys.core.SessionSpec
---@return true|nil ok
---@return string? err
---@return string? kind "resolve"|"connect"|"hostkey"|"auth"|"timeout"|"cancelled"|"ssh"
function ctys.core.remote_connect(spec) end

---Close the sessions kept for one host; how many.
---@param spec ctys.core.SessionSpec
---@return integer
function ctys.core.remote_disconnect(spec) end

---Where SSH goes for one host, with ~/.ssh/config (or the spec's `config`) applied: its
---HostName, Port and User over the target's own. Nothing is sent; no resolver is asked.
---@param spec ctys.core.SessionSpec
---@return {host: string, port: integer, user: string}|nil
---@return string? err
---@return string? kind "resolve"
function ctys.core.remote_where(spec) end

---@class ctys.core.CopySpec
---@field targets ctys.core.RemoteTarget[]
---@field src string[] local files and directories (directories recursively)
---@field dest string the path on each host: a directory when it is one there, ends with `/` or several sources are given (made when missing); else the copy's name
---@field mode? integer permission bits of the copies (default: the sources')
---@field preserve? boolean keep the sources' modification times
---@field fanout? integer hosts at once (default 64)
---@field timeout? number seconds each SFTP operation may take (default 30)
---@field connect_timeout? number seconds for TCP, handshake and authentication (default 10)
---@field user? string
---@field port? integer
---@field identity? string
---@field known_hosts? string
---@field strict? "strict"|"accept-new"|"off"
---@field config? string
---@field routes? table<integer, string[][]> per target, the gateways between here and it (as for remote_exec): the sources are staged on the first gateway, which copies them on
---@field gateway_cmd? string the command that runs ctys on a gateway; needed with routes

---@class ctys.core.FetchSpec
---@field targets ctys.core.RemoteTarget[]
---@field src string the path on each host (a file, or a directory recursively)
---@field dest string local directory: each host's copy goes to dest/<host>/<name>
---@field fanout? integer hosts at once (default 64)
---@field timeout? number seconds each SFTP operation may take (default 30)
---@field connect_timeout? number seconds for TCP, handshake and authentication (default 10)
---@field user? string
---@field port? integer
---@field identity? string
---@field known_hosts? string
---@field strict? "strict"|"accept-new"|"off"
---@field config? string

---@class ctys.core.CopyResult
---@field host string
---@field files? integer files written
---@field bytes? integer bytes written
---@field paths? string[] where the copies are (remote paths for copy, the local path for fetch)
---@field err? string why the host failed, naming it first
---@field kind? string

---Copy local files to many hosts over SFTP (async), each file streamed to a temporary name
---beside its final one and moved into place whole (`mv -f`, rename(2)); a failed host keeps
---what it had and loses the temporary files.
---@param spec ctys.core.CopySpec
---@return ctys.core.CopyResult[]|nil results in the order of spec.targets
---@return string? err when the ssh_config cannot be read
---@return string? kind
function ctys.core.remote_copy(spec) end

---Fetch a file or directory from many hosts over SFTP (async) into dest/<host>/, streamed.
---@param spec ctys.core.FetchSpec
---@return ctys.core.CopyResult[]|nil results in the order of spec.targets
---@return string? err when the ssh_config cannot be read
---@return string? kind
function ctys.core.remote_fetch(spec) end

---@class ctys.core.ConsoleSpec
---@field target ctys.core.RemoteTarget
---@field cmd? string command for the remote shell (default: the login shell)
---@field pty? boolean request a pty (default: when stdin is a terminal)
---@field connect_timeout? number seconds for TCP, handshake and authentication (default 10)
---@field user? string default user (the target's own user wins)
---@field port? integer default port (the target's own port wins)
---@field identity? string identity file tried first
---@field known_hosts? string known_hosts file (default ~/.ssh/known_hosts)
---@field strict? "strict"|"accept-new"|"off" host key mode (default strict)
---@field config? string ssh_config file, or "none" (default ~/.ssh/config)

---An interactive SSH session on one host; blocks until it ends, owning the terminal (raw mode
---while a pty is used; restored on every way out). Window size changes are forwarded.
---@param spec ctys.core.ConsoleSpec
---@return integer|nil status remote exit status; 128 + N when signal N ended it
---@return string? signal_or_err the signal's name when one ended it; else why it failed
---@return string? kind on failure: "resolve"|"connect"|"hostkey"|"auth"|"timeout"|"cancelled"|"ssh"
function ctys.core.remote_console(spec) end

---The MAC in canonical form, or nil and why not.
---@param s string aa:bb:cc:dd:ee:ff, aa-bb-.., aabb.ccdd.eeff or 12 hex digits
---@return string|nil mac
---@return string? err
function ctys.core.wol_parse_mac(s) end

---What wol_send would put on the wire for a spec, without sending: `bytes` (the raw frame
---with its Ethernet header, or the UDP payload: 6 x 0xFF, 16 x the MAC, the SecureOn password),
---`secret_at` (where the password's bytes start), and `iface`, `src`, `dst` for a raw frame or
---`dest` (address:port) for UDP. Nil and why when no interface fits.
---@param spec ctys.core.WolSpec
---@return {bytes: string, secret_at: integer, iface?: string, src?: string, dst?: string, dest?: string}|nil
---@return string? err
function ctys.core.wol_wire(spec) end

---Whether `name` is an IP address or could be a host name (labels of letters, digits, '-' and
---'_', none starting with '-', at most 253 bytes): the rule every lookup applies first.
---@param name string
---@return boolean
function ctys.core.net_valid_host(name) end

---Whether a SecureOn password is valid (a.b.c.d, each 0-255, or a MAC-style 6 bytes); the
---reason never repeats it.
---@param password string
---@return true|nil ok
---@return string? err
function ctys.core.wol_check_password(password) end


---@class ctys.core.WolSpec
---@field mac string canonical MAC
---@field broadcast? string UDP destination address (default 255.255.255.255)
---@field port? integer UDP port (default 9)
---@field iface? string raw: the interface; UDP: SO_BINDTODEVICE
---@field raw? boolean a raw Ethernet frame (EtherType 0x0842)
---@field unicast? boolean raw frame to the target's own MAC
---@field bmac? string raw frame to this MAC
---@field password? string SecureOn password
---@field count? integer packets (default 1)
---@field interval? number seconds between packets
---@field macs? string[] send_many: one packet per MAC
---@field gso? boolean send_many over UDP: segmentation offload instead of sendmmsg

---Send magic packets for one MAC (async between repetitions).
---@param spec ctys.core.WolSpec
---@return true|nil ok
---@return string? err
function ctys.core.wol_send(spec) end

---Send one magic packet per MAC in spec.macs over one socket (UDP segmentation offload or
---sendmmsg for UDP). A MAC that does not parse sends nothing and returns nil, why, "badarg"
---and its index.
---@param spec ctys.core.WolSpec
---@return integer|nil sent
---@return string? err
---@return string? kind
---@return integer? index the bad MAC's, with kind "badarg"
function ctys.core.wol_send_many(spec) end

---One ICMP echo request (ping socket, else raw socket); async.
---@param addr string IP address
---@param timeout number seconds
---@param seq? integer sequence number
---@return number|nil rtt seconds
---@return string? err
function ctys.core.ping(addr, timeout, seq) end

---A TCP connect, optionally waiting for an `SSH-` banner; async.
---@param addr string IP address
---@param port integer
---@param timeout number seconds
---@param ssh_banner? boolean
---@return number|nil rtt seconds
---@return string? err
function ctys.core.tcp_probe(addr, port, timeout, ssh_banner) end

---The addresses of a name (an address is returned as is; CTYS_NO_DNS forbids lookups).
---@param name string
---@return string[]|nil addrs
---@return string? err
function ctys.core.resolve(name) end

---Every link with its addresses (async).
---@return {index: integer, name: string, kind: string?, up: boolean, master: string?, mac: string?, mtu: integer?, addrs: string[]}[]|nil
---@return string? err
---@return string? kind permission, exists, nodevice, other
function ctys.core.net_links() end

---The main table's routes (async).
---@return {dst: string, gateway: string?, dev: string?, metric: integer?, protocol: string, scope: string}[]|nil
---@return string? err
---@return string? kind
function ctys.core.net_routes() end

---The kernel's neighbour table, IPv4 (ARP) and IPv6 (NDP) (async).
---@return {ip: string, mac: string?, dev: string?, state: string}[]|nil
---@return string? err
---@return string? kind
function ctys.core.net_neighbours() end

---Add a bridge (async).
---@param name string
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.net_bridge_add(name) end

---Delete a link (async).
---@param name string
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.net_link_del(name) end

---Delete many links in one request (they join a free link group, and the group goes) (async).
---@param names string[]
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.net_links_del(names) end

---@class ctys.core.LinkChange
---@field up? boolean
---@field mtu? integer
---@field master? string|false a bridge, or false to release the link from its bridge

---Change a link (async).
---@param name string
---@param change ctys.core.LinkChange
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.net_link_set(name, change) end

---Add an address "ip/prefix" to a link (async).
---@param name string
---@param addr string
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.net_addr_add(name, addr) end

---Delete an address "ip/prefix" from a link (async).
---@param name string
---@param addr string
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.net_addr_del(name, addr) end

---@class ctys.core.RouteSpec
---@field dst string destination with prefix (0.0.0.0/0 for the default route)
---@field gateway? string
---@field metric? integer
---@field protocol? string (static)
---@field scope? string

---Add a route through a device (async).
---@param route ctys.core.RouteSpec
---@param dev string
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.net_route_add(route, dev) end

---Delete a route through a device (async).
---@param route ctys.core.RouteSpec
---@param dev string
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.net_route_del(route, dev) end

---@class ctys.core.TapSpec
---@field name? string (default: the kernel's next tapN)
---@field user? string owner, a name or uid
---@field group? string group, a name or gid
---@field persist? boolean (default true)

---Create a TAP; returns its name.
---@param spec ctys.core.TapSpec
---@return string|nil name
---@return string? err
---@return string? kind
function ctys.core.net_tap_add(spec) end

---Delete a persistent TAP.
---@param name string
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.net_tap_del(name) end

---A NIC's Wake-on-LAN modes as ethtool's letters (SIOCETHTOOL ETHTOOL_GWOL): {supported="pumbg", enabled="g"}; "d" is none.
---@param iface string
---@return {supported: string, enabled: string}|nil
---@return string? err
---@return string? kind unsupported (no Wake-on-LAN in the driver), nodevice, permission, other
function ctys.core.ethtool_wol_get(iface) end

---Set a NIC's Wake-on-LAN modes (ETHTOOL_SWOL), e.g. "g", or "d" for none; modes it does not support are refused first.
---@param iface string
---@param modes string letters of "pumbagsf", or "d"
---@return true|nil ok
---@return string? err
---@return string? kind unsupported, mode (a mode the NIC lacks), nodevice, permission, other
function ctys.core.ethtool_wol_set(iface, modes) end

---The path of vde_switch on PATH.
---@return string|nil path
---@return string? err
function ctys.core.vde_find() end

---@class ctys.core.VdeFiles
---@field sock string the switch's socket directory
---@field mgmt string its management socket
---@field pidfile string

---@class ctys.core.VdeStartSpec : ctys.core.VdeFiles
---@field sock string
---@field mgmt string
---@field pidfile string
---@field exe? string vde_switch (default: on PATH)
---@field tap? string
---@field group? string
---@field mode? integer
---@field mgmt_mode? integer
---@field timeout? number seconds for the management socket to appear (5)

---Start `vde_switch -d` (async).
---@param spec ctys.core.VdeStartSpec
---@return integer|nil pid
---@return string? err
function ctys.core.vde_start(spec) end

---Whether a vde_switch serves a data socket directory: its `ctl` socket accepts a connection
---(nothing is sent); else kind notfound (no such socket, or nobody answers).
---@param sock string the switch's data socket (`vde_switch -s`)
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.vde_answers(sock) end

---A management session: `s:cmd(line)` → {code, text, data, notes} | nil, err, kind; `s:banner()`;
---`s:close()`. The socket must be the caller's, root's or one of `owners`' (kind untrusted);
---each reply must come within `timeout` and hold at most 1 MiB (kinds timeout, toolarge).
---@param path string the management socket
---@param timeout? number seconds (default 2)
---@param owners? integer[] more uids trusted to own the socket
---@return userdata|nil session
---@return string? err
---@return string? kind
function ctys.core.vde_connect(path, timeout, owners) end

---The pid of the running vde_switch a trusted pid file names, or false.
---@param pidfile string
---@return integer|false|nil pid
---@return string? err
---@return string? kind
function ctys.core.vde_switch_pid(pidfile) end

---Check a switch's paths: their directories exist, the sockets fit.
---@param spec ctys.core.VdeFiles
---@return true|nil ok
---@return string? err
---@return string? kind "toolarge"|"notfound"
function ctys.core.vde_check_paths(spec) end

---Ports from `port/print` data lines.
---@param data string[]
---@return table[]
function ctys.core.vde_parse_ports(data) end

---pid, MAC, uptime, version, numports from `showinfo`/`port/showinfo` data lines.
---@param data string[]
---@return table
function ctys.core.vde_parse_info(data) end

---Switch sockets in a directory.
---@param dir string
---@param all? boolean also port and management sockets
---@return {path: string, uid: integer, gid: integer, mode: integer, base: boolean}[]
function ctys.core.vde_sockets(dir, all) end

---@class ctys.core.VdeOwnSpec : ctys.core.VdeFiles
---@field sock string
---@field mgmt string
---@field pidfile string
---@field uid integer
---@field gid integer
---@field setgid? boolean directory mode 02700 instead of 0700

---Give a switch's sockets to a user.
---@param spec ctys.core.VdeOwnSpec
---@return true|nil ok
---@return string? err
function ctys.core.vde_own(spec) end

---A user's uid and primary gid (a name or a number), or the effective user's when nil.
---@param user? string
---@return integer|nil uid
---@return integer|nil gid
function ctys.core.uid(user) end

---A group's gid (a name or a number), or the effective gid when nil.
---@param group? string
---@return integer|nil
function ctys.core.gid(group) end

---The name of a uid (default: the effective uid).
---@param uid? integer
---@return string|nil
function ctys.core.user_name(uid) end

---Whether a process exists and is no zombie (kill with signal 0, /proc/PID/stat).
---@param pid integer
---@return boolean
function ctys.core.pid_alive(pid) end

---Send a signal ("SIGTERM" by default, "SIGKILL", ...) to a process.
---@param pid integer
---@param signal? string
---@return boolean sent
function ctys.core.kill(pid, signal) end

---@class ctys.core.VdeRemoveSpec : ctys.core.VdeFiles
---@field sock string
---@field mgmt string
---@field pidfile string
---@field owners? integer[] more uids whose files count as trusted
---@field dry? boolean remove nothing, list what would go

---Remove a dead switch's files; each must be trusted (the caller's, root's or one of
---`owners`'), else nothing is removed. Returns the removed paths.
---@param spec ctys.core.VdeRemoveSpec
---@return string[]|nil removed
---@return string? err
---@return string? kind
function ctys.core.vde_remove(spec) end

---Open an RMCP+ session with a BMC (async). The spec names where the password comes from
---(password_env, password_file, credentials, prompt) — never the password itself.
---@param spec ctys.core.IpmiSpec
---@return userdata|nil bmc methods: power, chassis_status, identify, bootdev, device_id, raw, suite, sol, close
---@return string? err
---@return string? kind timeout, auth, kg, privilege, refused, bmc, protocol, network, secret
function ctys.core.ipmi_open(spec) end

---@class ctys.core.SolOpts
---@field force? boolean deactivate a console active on another session first

---@class ctys.core.IpmiSpec
---@field host string
---@field port? integer (623)
---@field user string
---@field password_env? string
---@field password_file? string
---@field credentials? string credentials file (`host[:port] user password` lines)
---@field prompt? boolean ask on the terminal when nothing else had the password (true)
---@field kg_env? string
---@field kg_file? string
---@field kg_prompt? boolean
---@field privilege? integer 2 user, 3 operator, 4 administrator (4)
---@field cipher? integer
---@field interface? "lanplus"|"lan"
---@field auth? "md5"|"straight"
---@field timeout? number seconds per try (1)
---@field retries? integer (4)
---@field label? string how failures name the BMC (`ipmi HOST:PORT`; "" for not at all)

---Log in to a Redfish service and find one computer system (async). A session of the
---service's SessionService when it has one (deleted on close, or when the handle goes), else
---HTTP basic auth. The handle's methods (each nil, err, kind on failure):
---`power(verb, wait?)` status|on|off|soft|cycle|reset|diag → the state word reached ("on",
---"off"; "done" for reset and diag; "requested" when wait is 0), waiting at most `wait` seconds
---(60) for PowerState; `system()` → {id, name, uuid, power, path, resets, session, ...};
---`boot()` → {target, enabled, mode, allowed}; `set_boot(dev, once, mode?)`; `identify(on)`;
---`close()`.
---@param spec ctys.core.RedfishSpec
---@return userdata|nil bmc
---@return string? err
---@return string? kind auth, untrusted, notfound, invalid, unsupported, bmc, protocol, timeout, connect, resolve, toolarge, secret
function ctys.core.redfish_open(spec) end

---Whether a Redfish service root answers at host:port, read without credentials (async).
---@param spec ctys.core.RedfishSpec
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.redfish_probe(spec) end

---@class ctys.core.RedfishSpec
---@field host string
---@field port? integer (443)
---@field system? string the system's Id, Name or UUID (default: the service's only one)
---@field user? string (required by redfish_open)
---@field password_env? string
---@field password_file? string
---@field credentials? string credentials file (`host[:port] user password` lines)
---@field prompt? boolean ask on the terminal when nothing else had the password (true)
---@field ca? string PEM file of the CA to trust instead of the system store
---@field insecure? boolean do not verify the certificate at all
---@field timeout? number seconds per request (10; redfish_probe 3)
---@field label? string how failures name the BMC (`redfish HOST:PORT`)

---Every option table of the bindings, by its class above: the fields the code reads (a key not
---listed is refused with "unknown field").
---@type table<string, string[]>
ctys.core.schema = {}

---RMCP presence ping (ASF) to host:port (async).
---@param host string
---@param port? integer (623)
---@param timeout? number seconds per try (1)
---@param tries? integer (3)
---@return boolean|nil answered
---@return boolean|string ipmi_or_err whether IPMI is supported, or the error
---@return string? kind
function ctys.core.ipmi_ping(host, port, timeout, tries) end

---Regular files under a directory and its subdirectories (never through a link to a
---directory), as sorted relative paths; a missing directory gives none, more than `max` files
---fail with kind "toolarge".
---@param dir string
---@param max integer
---@return string[]|nil files
---@return string? err
---@return string? kind
function ctys.core.fs_list(dir, max) end

---A regular file's bytes, at most `max` of them; with `owners` (a list, possibly empty) the file
---must be owned by the caller, root or one of them, writable by nobody else, and no link.
---@param path string
---@param max integer
---@param owners? integer[]
---@return string|nil data
---@return string? err
---@return string? kind "notfound"|"untrusted"|"toolarge"|"permission"|"io"
function ctys.core.fs_read(path, max, owners) end

---Replace a file atomically; a file there that is not trusted is refused.
---@param path string
---@param data string
---@param mode integer
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.fs_write(path, data, mode) end

---Remove a trusted file or directory tree; false when nothing was there. Never `/`, a path
---with `..`, or (with `within`) a path outside `within` (kind invalid).
---@param path string
---@param owners? integer[]
---@param within? string
---@return boolean|nil removed
---@return string? err
---@return string? kind
function ctys.core.fs_remove(path, owners, within) end

---Set an entry's permission bits; no link followed, only the caller's own.
---@param path string
---@param mode integer
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.fs_chmod(path, mode) end

---Give an entry to a uid and/or gid (nil keeps it); no link followed, only the caller's own.
---@param path string
---@param uid? integer
---@param gid? integer
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.fs_chown(path, uid, gid) end

---Rename an entry of the caller's (a link moves, it is not followed).
---@param from string
---@param to string
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.fs_rename(from, to) end

---Make (or check) a directory only the caller may write.
---@param path string
---@return true|nil ok
---@return string? err
---@return string? kind
function ctys.core.fs_private_dir(path) end

---lstat: type, uid, gid, mode, size.
---@param path string
---@return {type: string, uid: integer, gid: integer, mode: integer, size: integer}|nil
---@return string? err
---@return string? kind
function ctys.core.fs_stat(path) end

---An IP address in its usual form, or nil when the text is none.
---@param s string
---@return string|nil
function ctys.core.net_parse_ip(s) end

---Whether the kernel would accept an interface name; else nil and why (the name shortened).
---@param name string
---@return true|nil ok
---@return string? why
function ctys.core.net_check_name(name) end

---The Lua state's memory limit in bytes: with `limit`, set it (0: none) and return the one
---before; also the bytes in use now.
---@param limit? integer
---@return integer limit
---@return integer used
function ctys.core.memory_limit(limit) end

---The effective uid of this process.
---@return integer
function ctys.core.euid() end

---What a ctys async call yields while it waits (an opaque light userdata).
---@type lightuserdata
ctys.core.async_pending = nil

---Seconds written as text, by the primitives' one rule (0 to max_seconds), or nil.
---@param s string
---@return number|nil
function ctys.core.parse_seconds(s) end

---Seconds on a monotonic clock (from an arbitrary start, never going back): for timing.
---@return number
function ctys.core.now() end

---The wall clock: seconds since 1970-01-01 UTC, with fractions.
---@return number
function ctys.core.time() end

---Where exec would find a program: a word with a `/` as it is, else on $PATH; only an
---executable regular file counts. Nil when there is none.
---@param prog string
---@return string|nil path
function ctys.core.proc_which(prog) end

---The longest wait any primitive accepts, in seconds (366 days).
---@type number
ctys.core.max_seconds = 0

---@class ctys.core.ProcSpec
---@field argv string[] program and arguments (no shell)
---@field stdin? string
---@field env? table<string,string> added to the environment
---@field timeout? number seconds; then the program's process group ends
---@field max_output? integer bytes kept of stdout, and of stderr
---@field inherit? boolean share ctys's terminal instead of capturing

---@class ctys.core.SpawnSpec
---@field argv string[]
---@field env? table<string,string>

---Run a program (async) → {status, signal, stdout, stderr}, or nil, err, kind (notfound,
---permission, timeout, toolarge, io).
---@param spec ctys.core.ProcSpec
---@return {status: integer?, signal: integer?, stdout: string, stderr: string}|nil
---@return string? err
---@return string? kind
function ctys.core.proc_run(spec) end

---Start a program detached (its own session, /dev/null for stdio) → its pid.
---@param spec ctys.core.SpawnSpec
---@return integer|nil pid
---@return string? err
---@return string? kind
function ctys.core.proc_spawn(spec) end

---The local terminal as a full-screen view (the alternate screen, cursor hidden, keys without
---echo; ISIG kept), given back by `close` or when collected; nil, err, kind "invalid" when
---standard input or output is not a terminal.
---@return ctys.core.Screen|nil
---@return string? err
---@return string? kind "invalid"|"io"
function ctys.core.term_screen() end

---@class ctys.core.Screen
local Screen = {}

---The terminal's rows and columns now (24, 80 when it does not say).
---@return integer|nil rows
---@return integer|string cols, or why not (the view is closed)
function Screen:size() end

---Write bytes to the terminal at once; false when the view is closed.
---@param bytes string
---@return boolean
function Screen:write(bytes) end

---The next key within `timeout` seconds (default 1): the bytes one keypress gave (an escape
---sequence whole), false when none came; nil, err, kind when the terminal went away (kind eof).
---Other tasks run while it waits.
---@param timeout? number
---@return string|false|nil key
---@return string? err
---@return string? kind
function Screen:key(timeout) end

---Give the terminal back: the main screen, the cursor, the settings it had.
function Screen:close() end

---A QEMU guest's QMP socket (async): connects, reads the greeting, negotiates capabilities.
---The socket must be the caller's, root's or one of `owners'` and not writable by others (kind
---untrusted); a line may hold at most 1 MiB (toolarge); every wait has `timeout` (timeout).
---@param path string the QMP socket (`-qmp unix:PATH,server=on,wait=off`)
---@param timeout? number seconds for the connection and the greeting (default 5)
---@param owners? integer[] more uids trusted to own the socket
---@return ctys.core.Qmp|nil session
---@return string? err
---@return string? kind "notfound"|"untrusted"|"timeout"|"protocol"|"toolarge"|"closed"|"refused"
function ctys.core.qmp_open(path, timeout, owners) end

---@class ctys.core.Qmp
local Qmp = {}

---Run a QMP command (async): its `return` value as Lua (null becomes nil), or nil, err, kind
---(`refused` with QEMU's error class and description; `closed` when QEMU went away).
---@param command string e.g. "query-status", "system_powerdown", "quit"
---@param arguments? table the command's arguments
---@param timeout? number seconds (default 5)
---@return any|nil result
---@return string? err
---@return string? kind
function Qmp:execute(command, arguments, timeout) end

---The next event (async), named `name` when given (others before it are dropped): the event's
---table (`event`, `data`, `timestamp`), or nil, err, kind (`timeout`; `closed` once QEMU exits).
---@param name? string e.g. "SHUTDOWN"
---@param timeout? number seconds (default 5)
---@return table|nil event
---@return string? err
---@return string? kind
function Qmp:event(name, timeout) end

---QEMU's version from the greeting, "major.minor.micro".
---@return string|nil
function Qmp:version() end

---Close the session.
function Qmp:close() end
