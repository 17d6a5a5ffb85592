<?php
// error_log() with no error_log file set: php-fpm sends the message as a
// FastCGI STDERR record, which wired must write to its error log.
error_log('wired-test: a line for the error log from stderr.php');
echo "logged\n";
