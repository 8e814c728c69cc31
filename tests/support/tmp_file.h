/*
 * tmp_file.h - a scratch file for each unit test that writes a trace or an
 * output: cmocka setup/teardown functions that create it empty (mkstemp under
 * /tmp) and remove it.
 */
#ifndef HP_TEST_TMP_FILE_H
#define HP_TEST_TMP_FILE_H

/* The scratch file's path, valid between hp_tmp_setup and hp_tmp_teardown. */
extern char hp_tmp_path[64];

/* cmocka setup: creates the file. Returns 0, or -1 (the test then fails). */
int hp_tmp_setup(void **state);

/* cmocka teardown: removes the file. Returns 0. */
int hp_tmp_teardown(void **state);

#endif
