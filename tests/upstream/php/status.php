<?php
// A status chosen by the script: http_response_code() or a status line.
if (isset($_GET['line'])) {
    header('HTTP/1.1 451 Unavailable For Legal Reasons');
} else {
    http_response_code((int)($_GET['code'] ?? 418));
}
header('X-Script: status.php');
echo "status from php\n";
