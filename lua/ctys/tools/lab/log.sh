#!/bin/sh
# A sandbox machine's logger and wall (ctys lab's command table): one line in the lab's log.
. "$(dirname "$0")/../lab.env"
echo "$(date +%T) $(ip netns identify $$) $*" >> "$dir/log/messages"
