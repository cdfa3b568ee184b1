/*  service.h: tell systemd how `squirrel run` and `squirrel pinger` are
    doing (Type=notify), through libsystemd's sd_notify.

    Each call sends one datagram to $NOTIFY_SOCKET, and does nothing when
    that is unset (a run from a shell, a test): sd_notify checks it.  A
    failure to send is logged once per call and otherwise ignored: the
    service manager is a spectator, never a reason to stop monitoring.
    Only the main process should call these (NotifyAccess=main in the
    units): the children of processes mode inherit the variable, but the
    manager ignores what they would send.
*/
#ifndef SERVICE_H_INCLUDED
#define SERVICE_H_INCLUDED

//  Start-up or a reload is done: READY=1, with status as STATUS= (one
//  line, shown by `systemctl status`; NULL for none).
void service_ready (const char *status);

//  A reload begins (SIGHUP): RELOADING=1 and MONOTONIC_USEC= (the latter
//  is what systemd 253's Type=notify-reload wants; 252 ignores it).  Send
//  service_ready when the reload has been applied or refused.
void service_reloading (void);

//  Shutdown begins: STOPPING=1.
void service_stopping (void);

#endif
