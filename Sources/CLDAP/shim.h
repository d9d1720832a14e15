// What Swift cannot import from <ldap.h> directly: object-like macros that
// expand to casts or pointers, exposed as static inline functions.
#ifndef CLDAP_SHIM_H
#define CLDAP_SHIM_H

#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <lber.h>
#include <sys/time.h>

static inline void *CLDAP_OPT_ON(void) { return LDAP_OPT_ON; }
static inline void *CLDAP_OPT_OFF(void) { return LDAP_OPT_OFF; }

/// The paged-results control OID (RFC 2696) as a C string.
static inline const char *CLDAP_CONTROL_PAGEDRESULTS(void) { return LDAP_CONTROL_PAGEDRESULTS; }

static inline int CLDAP_TLS_PROTOCOL_TLS1_2(void) { return LDAP_OPT_X_TLS_PROTOCOL_TLS1_2; }

#endif
