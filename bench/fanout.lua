-- bench/fanout: what `ctys` does for `pdsh -w HOSTS CMD`: run CMD on a host list and print
-- `host: line` output. Usage: ctys bench/fanout.lua 'HOSTLIST' CMD
local hosts, cmd = ...
local res = assert(ctys.remote.exec { hosts = ctys.hostlist.expand(hosts), cmd = cmd, progress = false })
ctys.output.print(res, "prefix")
ctys.output.report_failures(res)
os.exit(ctys.output.exit_value(res))
