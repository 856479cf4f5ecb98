#ifndef TRADELOG_CRABBITMQ_SHIM_H
#define TRADELOG_CRABBITMQ_SHIM_H
// Debian 12 ships rabbitmq-c 0.11, whose public header is <amqp.h>.
#include <amqp.h>
#include <amqp_tcp_socket.h>
#endif
