/*
 * The directories authd keeps its runtime files in: the socket's, and the
 * one of the Secret Service store's lock. authd changes the mode of a
 * directory only when the directory is its own: one it has just made, or
 * $XDG_RUNTIME_DIR/authd. A directory the user chose and authd did not
 * make ('authd --socket ~/authd.sock') is checked and never changed: it
 * must be ours, and no one else may write to it. A shared one (/tmp, sticky
 * or not) is refused, as are group-writable ones.
 */
#ifndef AUTHD_PRIVDIR_H
#define AUTHD_PRIVDIR_H

/* $XDG_RUNTIME_DIR/authd (allocated); NULL when XDG_RUNTIME_DIR is not an
 * absolute path. */
char	*privdir_runtime(void);

/*
 * Make dir with mode 0700 when it is missing (its parent must exist), else
 * check it: a directory, not a symbolic link, of our uid. authd's own
 * runtime directory loses its group and other bits; any other directory
 * is left as it is, and refused when group or others may write to it.
 * what names the directory in *cause ("the socket's directory"). Returns 0
 * or -1 with *cause.
 */
int	 privdir_make(const char *dir, const char *what, char **cause);

#endif /* AUTHD_PRIVDIR_H */
