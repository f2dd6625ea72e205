/*
 * libFuzzer target: the configuration file parser (inih and our checks),
 * through a memory file so that nothing touches the disk.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 init, fd = -1;
	static char	 path[64];
	struct config	*c = NULL;
	char		*cause = NULL;

	if (!init) {
		msg_init();
		fd = memfd_create("fuzz-config", 0);
		/* A memfd is 0777: config_load refuses group or other bits. */
		if (fd != -1 && fchmod(fd, 0600) != 0)
			fd = -1;
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		init = 1;
	}
	if (fd == -1 || ftruncate(fd, 0) != 0 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	if (config_load(path, &c, &cause) == 0)
		config_free(c);
	free(cause);
	return 0;
}
