//go:build linux

package store_test

import (
	"os"
	"syscall"
	"unsafe"
)

// The ioctl requests and flag of chattr(1) +i.
const (
	fsIocGetFlags   = 0x80086601
	fsIocSetFlags   = 0x40086602
	fsImmutableFlag = 0x10
)

// setImmutable sets or clears path's immutable flag: an immutable file
// cannot be written, even through a descriptor opened before, and nothing
// can be created in an immutable directory, even by root. It needs
// CAP_LINUX_IMMUTABLE and a file system that has the flag (ext4, xfs, btrfs).
func setImmutable(path string, on bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var flags int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocGetFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		return e
	}
	if on {
		flags |= fsImmutableFlag
	} else {
		flags &^= fsImmutableFlag
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocSetFlags, uintptr(unsafe.Pointer(&flags))); e != 0 {
		return e
	}
	return nil
}
