#ifndef TRADELOG_CLIBPQ_SHIM_H
#define TRADELOG_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
