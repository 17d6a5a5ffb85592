<?php
// The raw body (php://input) as PHP read it: "LENGTH SHA256", for a 100 MB
// upload streamed through wired.
header('Content-Type: text/plain');
$in = fopen('php://input', 'rb');
$ctx = hash_init('sha256');
$len = 0;
while (!feof($in)) {
    $piece = fread($in, 1 << 20);
    if ($piece === false) {
        break;
    }
    $len += strlen($piece);
    hash_update($ctx, $piece);
}
echo $len, ' ', hash_final($ctx), "\n";
