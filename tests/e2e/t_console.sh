#!/usr/bin/env bash
# The interactive admin console on a pseudo-terminal (tools/console.py):
# the prompt names the server, HELP PING and HELP RPL0403E answer from the
# tables, Up-arrow recalls the previous command (also from the history file
# of an earlier console, mode 0600, which keeps no line with a password),
# Ctrl-C during a PING to a listener that accepts and never answers returns
# to the prompt within a second and the daemon keeps no session of it (the
# handshake would otherwise wait HANDSHAKETIMEOUT, 60 s here), a second
# Ctrl-C at the prompt leaves with the worst status of the session, QUIT
# with 0.
source "$(dirname "$0")/lib.sh"

init_peer A "$(port)"
conf_set A HANDSHAKETIMEOUT 60
start_peer A
python3 "$(dirname "$0")/tools/console.py" "$RP" "$W/A" "$(port)" "$HOME/.config/replpeer/history" ||
	die "console"
log_has A RPL1106I || die "the daemon log does not say the command was abandoned (RPL1106I)"
ok "the daemon logs the abandoned command (RPL1106I)"
