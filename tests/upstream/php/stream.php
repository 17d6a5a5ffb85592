<?php
// 10 MB (160 pieces of 64 KiB, piece i filled with the letter 'a' + i % 26),
// flushed piece by piece: no Content-Length, so the client gets it chunked.
// Halfway it pauses a second and, at the end, it creates stream.done beside
// itself, so a test can tell whether the first half reached it before the
// script had finished.
while (ob_get_level() > 0) {
    ob_end_flush();
}
header('Content-Type: application/octet-stream');
$done = __DIR__ . '/stream.done';
@unlink($done);
for ($i = 0; $i < 160; $i++) {
    echo str_repeat(chr(ord('a') + $i % 26), 65536);
    flush();
    if ($i === 79) {
        sleep(1);
    }
}
touch($done);
