/*
 * version: the one place the release number lives ('replpeer version',
 * QUERY STATUS). No code.
 */
#ifndef RPL_VERSION_H
#define RPL_VERSION_H

#define REPLPEER_VERSION "0.1.0"

#endif
