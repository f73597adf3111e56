/*
 * Commands of the producing side: keys, signatures, manifests, builds.
 */
#ifndef HALLMARK_BUILDER_H
#define HALLMARK_BUILDER_H

int cmd_keygen(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_build(int argc, char **argv);

#endif
