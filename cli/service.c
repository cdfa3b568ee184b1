/*  service.c: being written (issue 12).  */
