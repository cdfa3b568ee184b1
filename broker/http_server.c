/*  http_server.c: being written (issue 12).  */
