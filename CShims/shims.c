#include "CIPCShims.h"

#include <sys/msg.h>

_Static_assert(CIPC_MSG_EXCEPT == MSG_EXCEPT, "MSG_EXCEPT mirrors the system header");
_Static_assert(CIPC_MSG_COPY == MSG_COPY, "MSG_COPY mirrors the system header");
_Static_assert(CIPC_MSG_NOERROR == MSG_NOERROR, "MSG_NOERROR mirrors the system header");
_Static_assert(CIPC_MSG_HEADER_SIZE == sizeof(((struct msgbuf *)0)->mtype),
               "the message header is one long, as struct msgbuf declares");
