/*
 * Commands of the verifying side, linked into both hallmark and
 * hallmark-verify.
 */
#ifndef HALLMARK_VERIFIER_H
#define HALLMARK_VERIFIER_H

int cmd_verify(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_sbom(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_runtime(int argc, char **argv);

#endif
