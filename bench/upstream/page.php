<?php
// The PHP page of the benchmark's php-c16 case (bench/harness.py), run by
// php-fpm behind wired and nginx: a loop builds a small HTML table, about
// 1.2 KiB, the same bytes on every request.
$rows = '';
for ($i = 1; $i <= 16; $i++) {
    $name = sprintf('item %02d <%s>', $i, str_repeat('ab', $i % 5 + 1));
    $price = number_format($i * 1234.5 / 7, 2);
    $rows .= '<tr><td>' . $i . '</td><td>' . htmlspecialchars($name) . '</td><td>' . $price . "</td></tr>\n";
}
header('Content-Type: text/html; charset=utf-8');
echo "<!doctype html>\n<html><head><title>wired benchmark: php</title></head>\n<body>\n<table>\n",
    $rows, "</table>\n</body>\n</html>\n";
