/*  cmd_add.c: being written (issue 12).  */
